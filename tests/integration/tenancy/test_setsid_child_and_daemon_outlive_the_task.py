"""A process-mode task leaves a `setsid` child and a double-forked daemon behind and ends:
the local node ends them with it (its init is a child subreaper: orphans stay in the tree)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import redis

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for
from tests.integration.tenancy import redistasks
from tests.integration.tenancy.redisattacks import python_task


def processes(argument: str) -> dict[int, int]:
    """pid → uid of the processes running `sleep <argument>`."""
    wanted = f"sleep\0{argument}\0".encode()
    found: dict[int, int] = {}
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            if (folder / "cmdline").read_bytes() == wanted:
                found[int(folder.name)] = folder.stat().st_uid
        except OSError:
            continue
    return found


def test_a_tasks_setsid_child_and_daemon_end_with_the_task(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    token = f"3600.{secrets.randbelow(10**8):08d}"
    child, daemon = f"{token}1", f"{token}2"
    uid = tasks.create("spawner", python_task("spawn_and_wait", {"token": token}))["metadata"][
        "uid"
    ]

    def both() -> dict[int, int] | None:
        found = processes(child) | processes(daemon)
        return found if len(found) == 2 else None

    left = wait_for(both, 60, "the task's setsid child and daemon running")
    if os.geteuid() == 0:
        assert 0 not in left.values(), left  # run as the pod's own user, not as root
    redis_client.set(redistasks.release_key(uid), "1")
    assert tasks.wait_final("spawner", timeout=60)["status"]["phase"] == "Succeeded"
    wait_for(lambda: not processes(child) and not processes(daemon), 30, "the leftovers to be gone")
