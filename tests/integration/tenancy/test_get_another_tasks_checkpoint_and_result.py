"""A task GETs another task's checkpoint and large result, and overwrites the checkpoint:
refused; the victim keeps its own."""

from __future__ import annotations

import redis

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.integration.tenancy.redisattacks import Victim, attack, refused


def test_a_task_cannot_read_or_replace_another_tasks_checkpoint_or_result(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    victim = Victim(tasks, redis_client)
    answers = attack(tasks, redis_client, victim, "get_checkpoint", "get_result", "set_checkpoint")
    for name in ("get_checkpoint", "get_result", "set_checkpoint"):
        assert refused(answers[name]) and "keys" in answers[name], answers
    victim.release_and_check()
