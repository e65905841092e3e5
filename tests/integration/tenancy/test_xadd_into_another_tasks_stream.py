"""A task XADDs a forged `end` event into another task's stream: refused; the victim's
followers never see it."""

from __future__ import annotations

import redis

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.integration.tenancy.redisattacks import Victim, attack, refused


def test_a_task_cannot_write_another_tasks_stream(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    victim = Victim(tasks, redis_client)
    answers = attack(tasks, redis_client, victim, "xadd_events")
    assert refused(answers["xadd_events"]), answers
    assert "keys" in answers["xadd_events"]  # the command is the runner's: the key is refused
    victim.release_and_check()
