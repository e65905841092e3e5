"""Redis restarts while tasks run (ACL users live in the server's memory): the operator creates
the tasks' users again, and the tasks finish and write their results with them. What the
operator wrote before, in transactions, comes back from the append-only file."""

from __future__ import annotations

import os
from typing import Any

import pytest
import redis

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for
from tests.integration.tenancy.redisattacks import Victim, stream


def phases(r: redis.Redis, uid: str) -> list[str]:
    """The phase changes the operator wrote to the task's stream (in MULTI/EXEC)."""
    return [str(e.get("phase")) for e in stream(r, uid) if e["type"] == "status"]


def users(r: redis.Redis) -> set[str]:
    try:
        return {str(name) for name in r.acl_users()}
    except redis.RedisError:
        return set()


@pytest.mark.skipif(
    os.environ.get("LONGTASK_TEST_STACK") == "reuse",
    reason="restarts Redis, which a shared `make up` stack serves to others",
)
def test_task_users_are_back_after_a_redis_restart_and_the_tasks_finish(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis, stack: Any
) -> None:
    running = [Victim(tasks, redis_client, f"victim-{n}") for n in range(3)]
    names = {f"longtask-task.{tasks.namespace}.{v.uid}" for v in running}
    assert names <= users(redis_client)
    wait_for(
        lambda: all("Running" in phases(redis_client, v.uid) for v in running),
        30,
        "the Running phase changes in Redis",
    )
    written = {victim.uid: phases(redis_client, victim.uid) for victim in running}
    before = redis_client.info("server")["run_id"]
    stack.stop_redis()
    stack.start_redis()
    # A new server: it knows only the users of its ACL file, and the operator's sweep has to
    # notice the tasks' users are missing. The default user replays the append-only file: it
    # must be allowed the operator's transactions, or Redis drops them.
    assert redis_client.info("server")["run_id"] != before
    assert {uid: phases(redis_client, uid) for uid in written} == written
    wait_for(lambda: names <= users(redis_client), 30, "the tasks' users created again")
    for victim in running:
        victim.release_and_check()  # each writes its large result with its user
