"""Admission on the real stack: a queue's limits hold (counted from the Jobs), tasks start by
priority then creation, keys take turns, the rate limit spaces the starts, suspend holds
everything Queued, and cancelled or deleted queued tasks never get a Job."""

from __future__ import annotations

import datetime as dt

from kubernetes import client

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for
from tests.integration.queues.conftest import (
    Queues,
    job_intervals,
    max_overlap,
    one_job_per_attempt,
    quick,
    starts,
)


def phases(tasks: Tasks, names: list[str]) -> dict[str, str | None]:
    return {n: (tasks.get(n).get("status") or {}).get("phase") for n in names}


def test_twenty_tasks_into_max_running_three(
    operator_proc: OperatorProcess, tasks: Tasks, queues: Queues
) -> None:
    queues.create("three", maxRunning=3, suspend=True)
    names = [f"t{i:02d}" for i in range(20)]
    priorities = {n: (5 if i % 4 == 3 else 0) for i, n in enumerate(names)}
    for name in names:
        tasks.create(name, quick(1, queue="three", priority=priorities[name]))
    wait_for(lambda: set(phases(tasks, names).values()) == {"Queued"}, 60, "all Queued")
    waiting = tasks.get(names[-1])["status"]
    admitted = next(c for c in waiting["conditions"] if c["type"] == "Admitted")
    assert admitted["status"] == "False" and admitted["reason"] == "QueueSuspended"
    assert waiting["queuePosition"] >= 1
    queues.patch_spec("three", suspend=False)
    finals = {n: tasks.wait_final(n, timeout=240) for n in names}
    assert {f["status"]["phase"] for f in finals.values()} == {"Succeeded"}
    assert all(one_job_per_attempt(tasks, f) for f in finals.values())
    # Never more than 3 live attempts: from the Jobs' own times...
    assert max_overlap(job_intervals(queues.jobs("three"))) <= 3
    # ...and from the recorded attempts (an attempt ends when the operator saw its Job end).
    recorded = [
        (starts(f)[0], dt.datetime.fromisoformat(f["status"]["attempts"][0]["finish"]))
        for f in finals.values()
    ]
    assert len(recorded) == 20
    # Priority, then creation: at most 3 start together, so a task is never more than 2 places
    # from where the order puts it.
    expected = sorted(names, key=lambda n: (-priorities[n], names.index(n)))
    actual = sorted(names, key=lambda n: starts(finals[n])[0])
    assert all(abs(actual.index(n) - expected.index(n)) <= 2 for n in names), actual
    # The queue's status follows (its writes are throttled, at most one a second).
    wait_for(
        lambda: (
            (s := queues.get("three").get("status") or {}).get("running") == 0
            and s.get("queued") == 0
        ),
        30,
        "the queue's status to show it drained",
    )


def test_two_keys_take_turns(operator_proc: OperatorProcess, tasks: Tasks, queues: Queues) -> None:
    queues.create("keys", maxRunning=2, concurrencyKey={"label": "tenant"}, maxRunningPerKey=1)
    a = [f"a{i}" for i in range(10)]
    b = [f"b{i}" for i in range(2)]
    for name in a + b:
        body = {
            "apiVersion": "longtask.io/v1alpha1",
            "kind": "LongTask",
            "metadata": {"name": name, "labels": {"tenant": name[0]}},
            "spec": quick(1, queue="keys"),
        }
        tasks.custom.create_namespaced_custom_object(
            "longtask.io", "v1alpha1", tasks.namespace, "longtasks", body
        )
    finals = {n: tasks.wait_final(n, timeout=240) for n in a + b}
    assert {f["status"]["phase"] for f in finals.values()} == {"Succeeded"}
    first = {n: starts(f)[0] for n, f in finals.items()}
    a_order = sorted(a, key=first.__getitem__)
    # B does not wait for all of A: both of B's tasks start before A's 4th.
    assert max(first[n] for n in b) < first[a_order[3]]
    per_key = {
        k: [j for j in queues.jobs("keys") if j.metadata.labels["longtask.io/queue-key"] == k]
        for k in "ab"
    }
    assert all(max_overlap(job_intervals(jobs)) <= 1 for jobs in per_key.values())


def test_the_rate_limit_spaces_the_recorded_starts(
    operator_proc: OperatorProcess, tasks: Tasks, queues: Queues
) -> None:
    queues.create("rated", rateLimit={"starts": 2, "periodSeconds": 6})
    names = [f"r{i}" for i in range(6)]
    for name in names:
        tasks.create(name, quick(0, queue="rated"))
    wait_for(
        lambda: any(
            c.get("reason") == "RateLimited"
            for n in names
            for c in (tasks.get(n).get("status") or {}).get("conditions") or []
        ),
        60,
        "a task held by the rate limit",
    )
    finals = [tasks.wait_final(n, timeout=120) for n in names]
    assert {f["status"]["phase"] for f in finals} == {"Succeeded"}
    times = sorted(starts(f)[0] for f in finals)
    # Any 3 consecutive starts span at least one period: never more than 2 in 6 s.
    gaps = [(times[i + 2] - times[i]).total_seconds() for i in range(len(times) - 2)]
    assert min(gaps) >= 6, gaps


def test_cancel_and_delete_while_queued_create_no_job(
    operator_proc: OperatorProcess, tasks: Tasks, queues: Queues
) -> None:
    queues.create("held", maxRunning=1, suspend=True)
    kept = tasks.create("kept", quick(0, queue="held"))["metadata"]["uid"]
    cancelled = tasks.create("cancelled", quick(0, queue="held"))["metadata"]["uid"]
    deleted = tasks.create("deleted", quick(0, queue="held"))["metadata"]["uid"]
    for name in ("kept", "cancelled", "deleted"):
        tasks.wait_phase(name, {"Queued"}, timeout=60)
    tasks.patch_spec("cancelled", {"cancel": True})
    status = tasks.wait_final("cancelled", timeout=30)["status"]
    assert status["phase"] == "Cancelled" and "attempts" not in status
    tasks.delete("deleted")
    wait_for(lambda: not tasks.exists("deleted"), 30, "the queued task deleted")
    queues.patch_spec("held", suspend=False)
    assert tasks.wait_final("kept", timeout=60)["status"]["phase"] == "Succeeded"
    assert len(tasks.jobs(kept)) == 1
    assert tasks.jobs(cancelled) == [] and tasks.jobs(deleted) == []


def test_a_task_of_a_missing_queue_starts_at_once(
    operator_proc: OperatorProcess, tasks: Tasks, k8s: client.ApiClient
) -> None:
    tasks.create("orphan", quick(0, queue="no-such-queue"))
    status = tasks.wait_final("orphan", timeout=60)["status"]
    assert status["phase"] == "Succeeded"
    assert not any(c["type"] == "Admitted" for c in status.get("conditions") or [])
