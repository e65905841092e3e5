"""SIGKILL of the operator while 20 tasks run, some waiting to retry; a restart finishes them all
with exactly one Job per attempt."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for

QUICK = {"command": ["sleep", "3"]}
FLAKY = {
    "command": ["sh", "-c", 'sleep 1; test "$LONGTASK_ATTEMPT" -ge 2 || exit 1'],
    "retry": {"maxAttempts": 3, "backoff": {"initialSeconds": 4, "jitter": False}},
}
PERMANENT = {"command": ["sh", "-c", "sleep 1; exit 3"]}
DOOMED = {
    "command": ["sh", "-c", "exit 1"],
    "retry": {"maxAttempts": 2, "backoff": {"initialSeconds": 1, "jitter": False}},
}
# name prefix → (spec, how many, expected phase, reason, attempts)
PLAN: dict[str, tuple[dict[str, Any], int, str, str, int]] = {
    "quick": (QUICK, 8, "Succeeded", "Completed", 1),
    "flaky": (FLAKY, 6, "Succeeded", "Completed", 2),
    "perm": (PERMANENT, 3, "Failed", "PermanentFailure", 1),
    "doomed": (DOOMED, 3, "Failed", "AttemptsExhausted", 2),
}


def test_sigkill_and_restart_with_20_tasks_in_flight(
    own_operator: tuple[OperatorProcess, str], k8s: client.ApiClient
) -> None:
    operator, namespace = own_operator
    tasks = Tasks(k8s, namespace)
    uids: dict[str, str] = {}
    for prefix, (spec, count, *_) in PLAN.items():
        for index in range(count):
            name = f"{prefix}-{index}"
            uids[name] = tasks.create(name, spec)["metadata"]["uid"]

    def phases() -> dict[str, str]:
        return {n: (tasks.get(n).get("status") or {}).get("phase", "") for n in uids}

    # Kill while some tasks wait in backoff and others still run.
    wait_for(
        lambda: "Retrying" in phases().values() and "Running" in phases().values(),
        90,
        "a mix of Running and Retrying tasks",
    )
    operator.kill()

    # While the operator is down, attempts go on finishing: their Jobs complete unobserved.
    def finished_jobs() -> int:
        jobs = tasks.batch.list_namespaced_job(namespace).items
        count = 0
        for job in jobs:
            for c in job.status.conditions or []:
                count += int(c.type in ("Complete", "Failed") and c.status == "True")
        return count

    before = finished_jobs()
    wait_for(lambda: finished_jobs() > before, 60, "Jobs finishing while the operator is down")

    operator.start()
    for name in uids:
        tasks.wait_final(name, timeout=120)

    for prefix, (_, count, phase, reason, attempts) in PLAN.items():
        for index in range(count):
            name = f"{prefix}-{index}"
            status = tasks.get(name)["status"]
            assert (status["phase"], status["reason"]) == (phase, reason), (name, status)
            assert [a["number"] for a in status["attempts"]] == list(range(1, attempts + 1))
            jobs = sorted(j.metadata.name for j in tasks.jobs(uids[name]))
            assert jobs == [f"{name}-{n}" for n in range(1, attempts + 1)], (name, jobs)
