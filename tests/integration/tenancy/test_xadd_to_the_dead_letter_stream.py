"""A task XADDs a forged entry naming another task to the dead-letter stream: refused."""

from __future__ import annotations

import redis

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.integration.tenancy.redisattacks import Victim, attack, refused


def test_a_task_cannot_write_the_dead_letter_stream(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    victim = Victim(tasks, redis_client)
    answers = attack(tasks, redis_client, victim, "xadd_deadletter")
    assert refused(answers["xadd_deadletter"]) and "keys" in answers["xadd_deadletter"], answers
    victim.release_and_check()  # includes: no dead letter names it
