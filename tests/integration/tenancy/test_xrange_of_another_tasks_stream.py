"""A task reads another task's event stream with XRANGE: refused."""

from __future__ import annotations

import redis

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.integration.tenancy.redisattacks import Victim, attack, refused


def test_a_task_cannot_read_another_tasks_stream(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    victim = Victim(tasks, redis_client)
    answers = attack(tasks, redis_client, victim, "xrange_events")
    assert refused(answers["xrange_events"]), answers
    victim.release_and_check()
