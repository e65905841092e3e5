"""Python tasks of the Redis and local-node attack tests, run in pods through the real runner
(`task: tests.integration.tenancy.redistasks:…`, found through `PYTHONPATH`).

Each task acts as a hostile task would: with redis-py and the credentials its pod was given
(`LONGTASK_REDIS_URL`), and with whatever its process can reach on the node.
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from longtask.core import events, keys, runnerenv
from longtask.core.resource import Phase, Reason
from longtask.runner import TaskContext

# A result this large lives in Redis (`longtask:{uid}:result`), not in the status.
LARGE = 20_000


def own_redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ[runnerenv.REDIS_URL], decode_responses=True)


def release_key(uid: str) -> str:
    """A key of the task's own that the test sets to let it finish."""
    return f"{keys.PREFIX}:{uid}:release"


def wait_released(timeout: float) -> None:
    """Polls the release key; Redis away (or this task's user not back yet) is waited out."""
    uid = os.environ[runnerenv.UID]
    with own_redis() as r:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if r.get(release_key(uid)) is not None:
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("never released")
            time.sleep(0.2)


def victim(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Keeps a checkpoint, reports progress, waits to be released, returns a large result."""
    ctx.checkpoint({"secret": params["secret"]})
    ctx.progress(50, "waiting to be released")
    wait_released(float(params.get("timeout", 120)))
    return {"secret": params["secret"], "padding": "x" * LARGE}


def _refusal(call: Callable[[], object]) -> str:
    """ "allowed", or why Redis refused."""
    try:
        call()
    except redis.exceptions.NoPermissionError as exc:
        return f"NOPERM {exc}"
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "allowed"


def _forged_end() -> dict[str, str]:
    return events.encode(events.end(1, Phase.FAILED, Reason.ATTEMPT_FAILED, "forged"))


# Each attack: what it does to the victim's keys, what it does to its own (which must work).
ATTACKS: dict[str, Callable[[redis.Redis, str], object]] = {
    "xadd_events": lambda r, uid: r.xadd(keys.events(uid), _forged_end()),  # type: ignore[arg-type]
    "xrange_events": lambda r, uid: r.xrange(keys.events(uid)),
    "get_checkpoint": lambda r, uid: r.get(keys.checkpoint(uid)),
    "get_result": lambda r, uid: r.get(keys.result(uid)),
    "hget_state": lambda r, uid: r.hget(keys.state(uid), keys.STATE_PHASE),
    "hset_state": lambda r, uid: r.hset(keys.state(uid), keys.STATE_PHASE, "Failed"),
    "xadd_deadletter": lambda r, uid: r.xadd(keys.DEADLETTER, {"uid": uid, "error": "forged"}),
    "set_checkpoint": lambda r, uid: r.set(keys.checkpoint(uid), '{"secret": "forged"}'),
}
OWN: dict[str, Callable[[redis.Redis, str], object]] = {
    "xadd_events": lambda r, uid: r.xadd(
        keys.events(uid),
        events.encode(events.progress(1, 10, "own write")),  # type: ignore[arg-type]
    ),
    "get_checkpoint": lambda r, uid: r.get(keys.checkpoint(uid)),
}


def attack(ctx: TaskContext, params: dict[str, Any]) -> dict[str, str]:
    """Runs `params["attacks"]` against task `params["victim"]`; each result says whether Redis
    refused. `own_*`: the same command on the task's own keys."""
    own = os.environ[runnerenv.UID]
    out: dict[str, str] = {}
    with own_redis() as r:
        for name in params["attacks"]:
            out[name] = _refusal(functools.partial(ATTACKS[name], r, params["victim"]))
        for name, call in OWN.items():
            out[f"own_{name}"] = _refusal(functools.partial(call, r, own))
    return out


def read_params(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Looks for `params["secret"]` (the victim's params) everywhere this task can read: every
    key pattern of the victim in Redis, and the environment of every process on the node
    (a pod's `LONGTASK_PARAMS`)."""
    victim = params["victim"]
    with own_redis() as r:
        redis_reads = {
            "get": _refusal(lambda: r.get(keys.checkpoint(victim))),
            "hgetall": _refusal(lambda: r.hgetall(keys.state(victim))),
            "xrange": _refusal(lambda: r.xrange(keys.events(victim))),
            "keys": _refusal(lambda: r.keys(f"{keys.PREFIX}:*")),
            "scan": _refusal(lambda: r.scan(0)),
        }
    own = f"{runnerenv.UID}={os.environ[runnerenv.UID]}".encode()
    read_own, read_others, found = 0, 0, []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            text = environ.read_bytes()
        except OSError:
            continue
        if own in text:  # its own processes hold the secret too: it came in their params
            read_own += 1
            continue
        read_others += 1
        if params["secret"].encode() in text:
            found.append(environ.parent.name)
    return {
        "redis": redis_reads,
        "environs_read": {"own": read_own, "others": read_others},
        "found_in": found,
    }


def spawn_and_wait(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Leaves a `setsid` child and a double-forked daemon behind (each `sleep <token>`), then
    waits to be released and returns: the node must end them with the task."""
    token = params["token"]
    quiet: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }
    subprocess.Popen(["sleep", f"{token}1"], start_new_session=True, **quiet)
    # The shell exits at once: its background sleep is an orphan in a session of its own.
    subprocess.run(["sh", "-c", f"setsid sleep {token}2 &"], check=True, **quiet)
    ctx.progress(50, "children started")
    wait_released(float(params.get("timeout", 120)))
    return {"left": [f"{token}1", f"{token}2"]}


def reach_credentials(ctx: TaskContext, params: dict[str, Any]) -> dict[str, str]:
    """Tries to read each of `params["files"]` and to talk to etcd (`params["etcd"]`, host:port)
    without a client certificate; what each attempt gave."""
    out: dict[str, str] = {}
    for path in params["files"]:
        try:
            Path(path).read_bytes()
        except OSError as exc:
            out[path] = type(exc).__name__
        else:
            out[path] = "read"
    host, port = params["etcd"].rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection((host, int(port)), timeout=5)
        with context.wrap_socket(raw) as tls:
            tls.sendall(b"GET /version HTTP/1.1\r\nHost: etcd\r\n\r\n")
            answer = tls.recv(200)
        out["etcd"] = "answered" if answer.startswith(b"HTTP/1.1 200") else "refused"
    except (OSError, ssl.SSLError) as exc:
        out["etcd"] = type(exc).__name__
    return out
