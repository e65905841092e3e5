"""Kueue on the real stack: attempt Jobs are created suspended for the LocalQueue, tasks beyond
the ClusterQueue's CPU quota wait Pending with "waiting for Kueue admission" and start as quota
frees, all succeed with one Job per attempt; a task cancelled while it waits never runs; a
preempted attempt says so and the task still succeeds, the preemption not counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fixtures.operator import Tasks
from tests.fixtures.waiting import wait_for
from tests.integration.kueue.conftest import (
    HIGH,
    LOCAL_QUEUE,
    QUOTA_CPU,
    KueueObjects,
    admitted,
    cpu_task,
    release_file,
    run_intervals,
)
from tests.integration.queues.conftest import max_overlap, one_job_per_attempt

WAITING = f"waiting for Kueue admission in LocalQueue {LOCAL_QUEUE}"


def phase(task: dict[str, Any]) -> str | None:
    return (task.get("status") or {}).get("phase")


def waiting_for_kueue(task: dict[str, Any]) -> bool:
    found = admitted(task)
    status = task.get("status") or {}
    return (
        found is not None
        and (found["status"], found["reason"]) == ("False", "WaitingForKueue")
        and status.get("phase") == "Pending"
    )


def test_tasks_beyond_the_quota_wait_for_kueue_and_start_as_it_frees(
    ktasks: Tasks, kueue_objects: KueueObjects, pod_visible_dir: Path
) -> None:
    release, wait = release_file(pod_visible_dir)
    names = [f"k{i}" for i in range(5)]
    for name in names:
        ktasks.create(name, cpu_task(f"{wait}; echo '::progress 100 done'"))
    # Two fit the quota of 2 CPUs and run; the other three wait, saying why.
    wait_for(
        lambda: sum(phase(ktasks.get(n)) == "Running" for n in names) == 2,
        90,
        "two tasks running",
    )
    waiting = [t for t in (ktasks.get(n) for n in names) if waiting_for_kueue(t)]
    assert len(waiting) == 3
    for task in waiting:
        assert admitted(task) is not None and admitted(task)["message"] == WAITING
        assert task["status"]["reason"] == "WaitingForKueue"
        [job] = ktasks.jobs(task["metadata"]["uid"])
        assert job.spec.suspend is True
        assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == LOCAL_QUEUE
    assert len(kueue_objects.workloads()) == 5
    release.touch()
    finals = {n: ktasks.wait_final(n, timeout=180) for n in names}
    assert {f["status"]["phase"] for f in finals.values()} == {"Succeeded"}
    assert all(one_job_per_attempt(ktasks, f) for f in finals.values())
    for final in finals.values():
        found = admitted(final)
        assert found is not None and (found["status"], found["reason"]) == ("True", "KueueAdmitted")
    jobs = [j for n in names for j in ktasks.jobs(finals[n]["metadata"]["uid"])]
    # Never more Jobs running than the quota holds, from the Jobs' own times.
    assert max_overlap(run_intervals(jobs)) <= QUOTA_CPU


def test_cancelling_a_task_waiting_for_kueue_ends_it_without_a_pod(
    ktasks: Tasks, kueue_objects: KueueObjects, pod_visible_dir: Path
) -> None:
    release, wait = release_file(pod_visible_dir)
    for name in ("a", "b"):
        ktasks.create(name, cpu_task(wait))
    for name in ("a", "b"):
        ktasks.wait_phase(name, {"Running"}, timeout=90)
    uid = ktasks.create("c", cpu_task("true"))["metadata"]["uid"]
    wait_for(lambda: waiting_for_kueue(ktasks.get("c")), 60, "c waiting for Kueue")
    ktasks.patch_spec("c", {"cancel": True})
    status = ktasks.wait_final("c", timeout=60)["status"]
    assert status["phase"] == "Cancelled"
    wait_for(lambda: ktasks.jobs(uid) == [], 60, "c's suspended Job deleted")
    assert ktasks.pods(uid) == []
    release.touch()
    for name in ("a", "b"):
        assert ktasks.wait_final(name, timeout=90)["status"]["phase"] == "Succeeded"


def test_a_preempted_attempt_says_so_waits_and_the_task_still_succeeds(
    ktasks: Tasks, kueue_objects: KueueObjects, pod_visible_dir: Path
) -> None:
    release, wait = release_file(pod_visible_dir)
    release_high, wait_high = release_file(pod_visible_dir)
    low = ["low-a", "low-b"]
    for name in low:
        # One attempt only: a preemption must not use it up.
        ktasks.create(
            name, cpu_task(f"{wait}; echo '::progress 100 done'", retry={"maxAttempts": 1})
        )
    for name in low:
        ktasks.wait_phase(name, {"Running"}, timeout=90)
    body = {
        "apiVersion": "longtask.io/v1alpha1",
        "kind": "LongTask",
        "metadata": {"name": "high", "labels": {"kueue.x-k8s.io/priority-class": HIGH}},
        "spec": cpu_task(wait_high),
    }
    ktasks.custom.create_namespaced_custom_object(
        "longtask.io", "v1alpha1", ktasks.namespace, "longtasks", body
    )

    # Kueue preempts one of the low tasks (suspends its Job) to run the high one.
    def preempted() -> list[dict[str, Any]]:
        return [t for t in (ktasks.get(n) for n in low) if phase(t) == "Pending"]

    [victim] = wait_for(preempted, 90, "a low-priority task preempted")
    ktasks.wait_phase("high", {"Running"}, timeout=90)
    found = admitted(victim)
    assert found is not None and (found["status"], found["reason"]) == ("False", "WaitingForKueue")
    assert found["message"].endswith(WAITING)
    name = victim["metadata"]["name"]
    ktasks.wait_events(name, {"Preempted"})
    # The high task done, Kueue admits the victim again and it runs on.
    release_high.touch()
    assert ktasks.wait_final("high", timeout=90)["status"]["phase"] == "Succeeded"
    ktasks.wait_phase(name, {"Running"}, timeout=90)
    release.touch()
    finals = {n: ktasks.wait_final(n, timeout=120) for n in low}
    assert {f["status"]["phase"] for f in finals.values()} == {"Succeeded"}
    assert all(one_job_per_attempt(ktasks, f) for f in finals.values())
    # Kubernetes 1.36 keeps the suspended Job and Kueue resumes it: the same attempt ran on.
    # Where the stopped pod failed the Job instead, that attempt is recorded Preempted and the
    # next one ran; either way the preemption did not use up the task's one attempt.
    records = finals[name]["status"]["attempts"]
    assert records[-1]["outcome"] == "Succeeded"
    assert all(r.get("reason") == "Preempted" for r in records[:-1])
    found = admitted(finals[name])
    assert found is not None and (found["status"], found["reason"]) == ("True", "KueueAdmitted")
