"""Cancellation while running and while waiting to retry; deletion while running."""

from __future__ import annotations

from longtask.devstack.stack import Stack

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for

# Reports progress once its TERM trap is set, then waits; on SIGTERM it says so in its output
# (the pod's log: the task's process may not write where the test could read).
TERMINATED = "terminated by SIGTERM"
TRAPPING = (
    f'trap "echo {TERMINATED}; exit 143" TERM; echo "::progress 10 waiting"; '
    "while true; do sleep 0.2; done"
)
TRAPPING_SPEC = {"command": ["sh", "-c", TRAPPING]}


def wait_terminated(stack: Stack, tasks: Tasks, pod: str) -> None:
    wait_for(
        lambda: TERMINATED in stack.pod_log(tasks.namespace, pod, "runner"),
        30,
        "the task's process to get SIGTERM",
    )


def wait_running_with_progress(tasks: Tasks, name: str) -> None:
    wait_for(
        lambda: (
            (tasks.get(name).get("status") or {}).get("progress") == 10
            and tasks.get(name)["status"].get("phase") == "Running"
        ),
        60,
        f"{name} running with its trap set",
    )


def test_cancel_while_running_terminates_the_process(
    operator_proc: OperatorProcess, tasks: Tasks, stack: Stack
) -> None:
    uid = tasks.create("stopme", TRAPPING_SPEC)["metadata"]["uid"]
    wait_running_with_progress(tasks, "stopme")
    (pod,) = [p.metadata.name for p in tasks.pods(uid)]
    tasks.patch_spec("stopme", {"cancel": True})
    status = tasks.wait_final("stopme", timeout=30)["status"]
    assert status["phase"] == "Cancelled" and status["reason"] == "CancelRequested"
    assert status["attempts"][0]["outcome"] == "Cancelled"
    wait_terminated(stack, tasks, pod)
    wait_for(lambda: not tasks.jobs(uid) and not tasks.pods(uid), 60, "Job and pod gone")
    cancelled = [c for c in status["conditions"] if c["type"] == "Cancelled"]
    assert cancelled and cancelled[0]["status"] == "True"


def test_cancel_while_waiting_to_retry_creates_no_new_job(
    operator_proc: OperatorProcess, tasks: Tasks
) -> None:
    spec = {
        "command": ["sh", "-c", "exit 1"],
        "retry": {"maxAttempts": 3, "backoff": {"initialSeconds": 600, "jitter": False}},
    }
    uid = tasks.create("waiting", spec)["metadata"]["uid"]
    retrying = tasks.wait_phase("waiting", {"Retrying"}, timeout=60)["status"]
    assert retrying["nextAttemptTime"]
    tasks.patch_spec("waiting", {"cancel": True})
    status = tasks.wait_final("waiting", timeout=30)["status"]
    assert status["phase"] == "Cancelled"
    assert [a["number"] for a in status["attempts"]] == [1]
    assert "nextAttemptTime" not in status
    assert [j.metadata.name for j in tasks.jobs(uid)] == ["waiting-1"]


def test_deleting_a_running_task_removes_its_job_and_pod(
    operator_proc: OperatorProcess, tasks: Tasks, stack: Stack
) -> None:
    uid = tasks.create("gone", TRAPPING_SPEC)["metadata"]["uid"]
    wait_running_with_progress(tasks, "gone")
    assert tasks.jobs(uid)
    (pod,) = [p.metadata.name for p in tasks.pods(uid)]
    tasks.delete("gone")
    wait_for(lambda: not tasks.exists("gone"), 30, "the LongTask to be deleted")
    wait_for(lambda: not tasks.jobs(uid) and not tasks.pods(uid), 60, "Job and pod gone")
    wait_terminated(stack, tasks, pod)
