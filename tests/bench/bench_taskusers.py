"""Benchmark of the tasks' own Redis users, on the local stack's Redis (not run by `make test`).

1. Creating a task's user (`TaskUsers.create`: one `ACL SETUSER`, what the operator does before
   a task's first Job), next to a baseline of one `HSET` on a connection of the same user (the
   round trip alone).
2. Redis memory per task user (`used_memory` over all the users made).
3. One sweep with every running task's user present (`TaskUsers.sync`: one `ACL USERS` and the
   plan, every `LONGTASK_STALL_SWEEP_SECONDS`), and one that removes all of them (one
   `ACL DELUSER`).
4. A runner's connection: connect and `AUTH` as its task's user, next to the admin's.

    .venv/bin/python -m tests.bench.bench_taskusers [--users 10000] [--reps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from longtask.core import redisurls, redisusers
from longtask.core.resource import LongTask
from longtask.devstack import procs, redisserver
from longtask.operator import credentials, taskusers
from longtask.operator.settings import Settings

from tests.bench import common

NAMESPACE = "bench"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def task(index: int, phase: str) -> LongTask:
    body = {
        "metadata": {"name": f"t{index}", "namespace": NAMESPACE, "uid": f"uid-{index}"},
        "status": {"phase": phase, "completionTime": "2025-12-31T00:00:00Z"},
    }
    return cast(LongTask, body)


async def per_call_us(count: int, call: Any) -> float:
    started = time.perf_counter()
    for index in range(count):
        await call(index)
    return (time.perf_counter() - started) / count * 1e6


async def one_rep(url: str, admin_url: str, settings: Settings, count: int) -> dict[str, float]:
    admin = redisurls.client(admin_url, decode_responses=True)
    await admin.flushall()

    async def no_uids(namespace: str) -> set[str]:
        return set()

    users = taskusers.TaskUsers(settings, no_uids)
    plain = redisurls.client(url, decode_responses=True)
    out: dict[str, float] = {}
    memory_before = int((await admin.info("memory"))["used_memory"])
    out["create"] = await per_call_us(count, lambda i: users.create(NAMESPACE, f"uid-{i}"))
    memory_after = int((await admin.info("memory"))["used_memory"])
    out["memory"] = (memory_after - memory_before) / count
    out["hset"] = await per_call_us(count, lambda i: plain.hset(f"longtask:uid-{i}:state", "p", 1))
    running = [task(i, "Running") for i in range(count)]
    started = time.perf_counter()
    await users.sync(running, set(), NOW)
    out["sweep"] = (time.perf_counter() - started) * 1e3
    assert len(await admin.acl_users()) >= count
    ended = [task(i, "Succeeded") for i in range(count)]
    started = time.perf_counter()
    await users.sync(ended, set(), NOW)
    out["remove"] = (time.perf_counter() - started) * 1e3
    assert not [u for u in await admin.acl_users() if str(u).startswith(redisusers.TASK_PREFIX)]

    # A runner's connection: AUTH as a task user (a SHA-256 of the password to compare).
    await users.create(NAMESPACE, "uid-auth")
    task_url = redisurls.with_credentials(
        admin_url,
        redisusers.task_username(NAMESPACE, "uid-auth"),
        credentials.password(settings.redis_task_key, "uid-auth"),
    )

    async def connect(target: str) -> None:
        client = redisurls.client(target)
        await client.get("longtask:uid-auth:checkpoint")
        await client.aclose()

    out["auth task"] = await per_call_us(200, lambda i: connect(task_url))
    out["auth admin"] = await per_call_us(200, lambda i: connect(admin_url))
    await users.close()
    await plain.aclose()
    await admin.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    began = time.monotonic()
    result = common.Result(
        name="taskusers",
        title="Redis users of tasks: creating one, its memory, the operator's sweep",
        sizes={"users": args.users, "reps": args.reps},
    )
    with tempfile.TemporaryDirectory() as folder:
        passwords = redisserver.Passwords.generate()
        proc, port = redisserver.start(Path(folder), passwords)
        try:
            url = redisserver.url(port, redisusers.OPERATOR, passwords.operator)
            admin_url = redisserver.url(port, redisserver.ADMIN, passwords.admin)
            settings = Settings(redis_url=url, redis_task_key=passwords.task_key)
            for _ in range(args.reps):
                got = asyncio.run(one_rep(url, admin_url, settings, args.users))
                result.add("create a task's user", "longtask (ACL SETUSER)", "µs", got["create"])
                result.add("create a task's user", "baseline: one HSET", "µs", got["hset"])
                result.add("Redis memory per task user", "longtask", "bytes", got["memory"])
                result.add(
                    f"sweep, {args.users} running tasks' users present",
                    "longtask",
                    "ms",
                    got["sweep"],
                )
                result.add(f"sweep removing {args.users} users", "longtask", "ms", got["remove"])
                result.add(
                    "connect + AUTH + GET", "longtask: a task's user", "µs", got["auth task"]
                )
                result.add("connect + AUTH + GET", "baseline: the admin", "µs", got["auth admin"])
        finally:
            procs.stop(proc)
    result.notes.append(
        "Each task also costs the operator one API write for its Secret (the Redis URL), the "
        "first attempt's only: a retry's create answers AlreadyExists."
    )
    result.seconds = time.monotonic() - began
    path = common.write(result, common.machine())
    print(path.read_text())


if __name__ == "__main__":
    main()
