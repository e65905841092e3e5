"""Regression: a resume point or log offset older than what a trimmed stream keeps is announced
(`gap` event, marker line), never passed over in silence as if nothing were missing."""

from __future__ import annotations

import subprocess

import redis
from longtask.client import Client
from longtask.core import events, keys, resource
from longtask.devstack.stack import Stack

from tests.fixtures.gateway import Gateway, create_task, read_events

WRITTEN = 300
MAXLEN = 100  # approximate: Redis trims whole nodes of 100 entries


def write_trimmed_events(r: redis.Redis, uid: str) -> list[str]:
    """WRITTEN progress events into a stream trimmed as writers trim, then the end."""
    ids = [
        str(
            r.xadd(
                keys.events(uid),
                events.encode(events.progress(1, i / 3, f"step {i}")),  # type: ignore[arg-type]
                maxlen=MAXLEN,
                approximate=True,
            )
        )
        for i in range(WRITTEN)
    ]
    end = events.end(1, resource.Phase.SUCCEEDED)
    ids.append(str(r.xadd(keys.events(uid), events.encode(end))))  # type: ignore[arg-type]
    return ids


def test_a_resume_point_older_than_the_stream_is_announced_by_a_gap_event(
    gateway: Gateway, namespace: str, redis_client: redis.Redis
) -> None:
    task = create_task(gateway, namespace, name="trimmed")
    ids = write_trimmed_events(redis_client, task["uid"])
    kept = redis_client.xlen(keys.events(task["uid"]))
    first_kept = ids[len(ids) - kept]
    path = f"/v1/namespaces/{namespace}/tasks/trimmed/events"

    from_start = read_events(gateway, path)
    assert [e["event"] for e in from_start[:2]] == ["snapshot", "gap"]
    gap = from_start[1]
    assert gap["id"] is None
    assert gap["data"] == {
        "type": "gap",
        "ts": gap["data"]["ts"],
        "after": "0-0",
        "before": first_kept,
        "skipped": len(ids) - kept,
    }
    assert [e["id"] for e in from_start[2:]] == ids[len(ids) - kept :]

    resumed = read_events(gateway, path, headers={"Last-Event-ID": ids[5]})
    assert resumed[1]["event"] == "gap"
    assert resumed[1]["data"]["after"] == ids[5] and resumed[1]["data"]["before"] == first_kept
    assert "skipped" not in resumed[1]["data"]  # unknown: Redis does not say how many

    within = read_events(gateway, path, headers={"Last-Event-ID": first_kept})
    assert "gap" not in [e["event"] for e in within]
    assert [e["id"] for e in within[1:]] == ids[len(ids) - kept + 1 :]


def test_the_client_and_the_cli_say_so(
    gateway: Gateway, namespace: str, redis_client: redis.Redis, stack: Stack
) -> None:
    task = create_task(gateway, namespace, name="trimmed")
    write_trimmed_events(redis_client, task["uid"])
    with Client(gateway.url, gateway.key, namespace=namespace) as lt:
        kinds = [e.type for e in lt.events("trimmed")]
    assert kinds[:2] == ["snapshot", "gap"]

    env = stack.env | {"LONGTASK_GATEWAY_URL": gateway.url, "LONGTASK_TOKEN": gateway.key or ""}
    watched = subprocess.run(
        [str(stack.bin_dir / "longtask"), "watch", "trimmed", "-n", namespace],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert watched.returncode == 0, watched.stderr
    # `watch` starts from the task's current state (a tail follow): nothing trimmed lies
    # behind it, so it has no gap to report, and no older progress either.
    assert "trimmed" not in watched.stderr
    assert "step 299" in watched.stdout.splitlines()[0], watched.stdout


def test_a_log_offset_older_than_the_log_is_marked(
    gateway: Gateway, namespace: str, redis_client: redis.Redis, stack: Stack
) -> None:
    task = create_task(gateway, namespace, name="chatty")
    uid = task["uid"]
    for i in range(WRITTEN):
        redis_client.xadd(
            keys.logs(uid), {"line": f"line {i}", "attempt": "1"}, maxlen=MAXLEN, approximate=True
        )
    redis_client.xadd(keys.events(uid), events.encode(events.end(1, resource.Phase.SUCCEEDED)))  # type: ignore[arg-type]
    kept = redis_client.xlen(keys.logs(uid))
    path = f"/v1/namespaces/{namespace}/tasks/chatty/logs"

    with gateway.client() as http:
        page = http.get(path).json()
    marker, *lines = page["items"]
    assert marker["gap"] == {"after": "0-0", "before": lines[0]["id"], "skipped": WRITTEN - kept}
    assert "trimmed" in marker["line"]
    assert [line["line"] for line in lines][-1] == f"line {WRITTEN - 1}"
    assert all(line["gap"] is None for line in lines)

    followed = read_events(gateway, f"{path}?follow=true")
    assert followed[0]["event"] == "gap" and followed[0]["data"]["skipped"] == WRITTEN - kept
    assert [e["event"] for e in followed[1:]] == ["log"] * kept + ["end"]

    with Client(gateway.url, gateway.key, namespace=namespace) as lt:
        read = list(lt.logs("chatty"))
        live = list(lt.logs("chatty", follow=True))
    assert read[0].gap is not None and read[0].gap.skipped == WRITTEN - kept
    assert live[0].gap is not None and len(live) == kept + 1

    env = stack.env | {"LONGTASK_GATEWAY_URL": gateway.url, "LONGTASK_TOKEN": gateway.key or ""}
    printed = subprocess.run(
        [str(stack.bin_dir / "longtask"), "logs", "chatty", "-n", namespace],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"{WRITTEN - kept} earlier lines were trimmed" in printed.stderr
    assert printed.stdout.splitlines()[-1] == f"line {WRITTEN - 1}"
