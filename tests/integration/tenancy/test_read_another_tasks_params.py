"""A task looks for another task's params: in Redis under the victim's keys and by listing
keys, and in the environment of every process on the node (`LONGTASK_PARAMS` of the victim's
pod). Nothing is found."""

from __future__ import annotations

import os
from typing import Any

import pytest
import redis

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.integration.tenancy.redisattacks import Victim, python_task, refused


def search(tasks: Tasks, victim: Victim) -> dict[str, Any]:
    params = {"victim": victim.uid, "secret": victim.secret}
    tasks.create("attacker", python_task("read_params", params))
    status = tasks.wait_final("attacker", timeout=60)["status"]
    assert status["phase"] == "Succeeded", status
    found: dict[str, Any] = status["result"]
    return found


def test_a_task_cannot_read_another_tasks_keys(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    victim = Victim(tasks, redis_client)
    found = search(tasks, victim)
    assert all(refused(answer) for answer in found["redis"].values()), found
    victim.release_and_check()


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="without root the local node runs every pod as its own user (deploy/images/README.md)",
)
def test_a_task_cannot_read_another_pods_environment(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    victim = Victim(tasks, redis_client)
    found = search(tasks, victim)
    assert found["environs_read"]["own"] > 0  # the search itself works
    assert found["environs_read"]["others"] == 0  # a user per pod: no other environment opens
    assert found["found_in"] == [], found
    victim.release_and_check()
