"""The operator is SIGKILLed with 30 tasks queued and 3 running, and started again: the limit
holds across the restart (counted from the Jobs, never from memory), no task is lost, every task
succeeds, and each attempt has exactly one Job."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.fixtures.operator import (
    PRIVATE_PREFIX,
    OperatorProcess,
    Tasks,
    make_namespace,
    operator_env,
)
from tests.fixtures.waiting import wait_for
from tests.integration.queues.conftest import (
    Queues,
    job_intervals,
    max_overlap,
    one_job_per_attempt,
    quick,
)


@pytest.fixture
def own_namespace(stack: Any, k8s: client.ApiClient) -> Iterator[str]:
    name = make_namespace(stack, k8s, PRIVATE_PREFIX)
    yield name
    client.CoreV1Api(k8s).delete_namespace(name)


def test_operator_killed_with_thirty_queued_and_three_running(
    stack: Any, k8s: client.ApiClient, own_namespace: str, tmp_path: Path
) -> None:
    operator = OperatorProcess(operator_env(stack, own_namespace), tmp_path / "operator.log")
    operator.start()
    try:
        tasks, queues = Tasks(k8s, own_namespace), Queues(k8s, own_namespace)
        queues.create("three", maxRunning=3)
        names = [f"k{i:02d}" for i in range(33)]
        for name in names:
            tasks.create(name, quick(4, queue="three"))

        def phases() -> Counter[str | None]:
            return Counter((tasks.get(n).get("status") or {}).get("phase") for n in names)

        wait_for(
            lambda: (p := phases())["Queued"] >= 28 and p["Running"] + p["Pending"] == 3,
            120,
            "3 running and the rest queued",
        )
        operator.kill()
        # While it is away the running attempts end; nobody may start the queued ones.
        wait_for(
            lambda: sum(1 for j in queues.jobs("three") if j.status.succeeded) >= 3,
            60,
            "the running attempts to end while the operator is down",
        )
        assert len(queues.jobs("three")) == 3
        operator.start()
        finals = {n: tasks.wait_final(n, timeout=300) for n in names}
    finally:
        operator.stop()
    assert {f["status"]["phase"] for f in finals.values()} == {"Succeeded"}
    assert all(one_job_per_attempt(tasks, f) for f in finals.values())
    jobs = queues.jobs("three")
    assert len(jobs) == 33
    assert max_overlap(job_intervals(jobs)) <= 3
