"""A task reads another task's state hash and writes a forged phase into it: refused."""

from __future__ import annotations

import redis

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.integration.tenancy.redisattacks import Victim, attack, refused


def test_a_task_cannot_read_or_write_another_tasks_state(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    victim = Victim(tasks, redis_client)
    answers = attack(tasks, redis_client, victim, "hget_state", "hset_state")
    assert refused(answers["hget_state"]), answers
    assert refused(answers["hset_state"]) and "keys" in answers["hset_state"], answers
    victim.release_and_check()
