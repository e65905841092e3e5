"""The operator's side of a queue: which waiting tasks need a reconcile, the queue's status
patch (only what changed), and the ordered snapshot written to Redis."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from longtask.core import keys, taskqueue
from longtask.core.resource import Reason
from longtask.core.taskqueue import QueueSpec
from longtask.operator import queueing, queues
from longtask.operator.store import Key, Store

from tests.fixtures.operator import T0, make_job, make_task

NOW = T0


def a_view(suspend: bool = False) -> queueing.View:
    spec = QueueSpec(maxRunning=1, suspend=suspend)
    waiters = [
        queueing.Waiter(("ns", n), f"uid-{n}", 0, NOW - dt.timedelta(seconds=s), NOW, None)
        for n, s in (("a", 30), ("b", 20), ("c", 10))
    ]
    return queueing.view("q", "ns", spec, waiters, [], NOW)


def queued(position: int, reason: str = "QueueFull") -> Any:
    cond = {"type": "Admitted", "status": "False", "reason": reason}
    return make_task(status={"phase": "Queued", "queuePosition": position, "conditions": [cond]})


def test_only_tasks_whose_reconcile_changes_something_are_queued_for_it() -> None:
    full = queueing.Verdict(False, 3, Reason.QUEUE_FULL, "…", None)
    assert not queues.needs_reconcile(queued(4), full)  # 4 → 3: not halved
    assert queues.needs_reconcile(queued(6), full)  # halved
    assert queues.needs_reconcile(queued(3, "RateLimited"), full)  # another reason
    assert queues.needs_reconcile(make_task(), full)  # not in the queue yet
    admitted = queueing.Verdict(True, 0, Reason.ADMITTED, "…", NOW)
    assert queues.needs_reconcile(queued(3), admitted)


def test_the_queue_status_patch_holds_only_what_changed() -> None:
    view = a_view()
    queue: dict[str, Any] = {"metadata": {"generation": 2}, "spec": {"maxRunning": 1}}
    patch = queues.queue_status(queue, view, NOW)
    assert patch is not None
    assert (patch["running"], patch["queued"], patch["observedGeneration"]) == (0, 2, 2)
    assert patch["conditions"][0]["reason"] == "Active"
    queue["status"] = {**patch}
    assert queues.queue_status(queue, view, NOW) is None


def test_one_snapshot_holds_every_waiting_task_in_order() -> None:
    view = a_view()
    snap = queues.snapshot(view, QueueSpec(maxRunning=1), NOW)
    assert [row[0] for row in snap["waiting"]] == ["uid-b", "uid-c"]  # a is admitted
    assert snap["maxRunning"] == 1 and snap["running"] == 0 and not snap["suspended"]
    (xadd, expire) = queues.snapshot_commands(snap)
    assert xadd.key == keys.queue_snapshots("ns", "q") and xadd.exact
    assert expire.number == keys.QUEUE_SNAPSHOT_TTL_SECONDS


async def test_a_view_is_recomputed_only_when_something_admission_reads_changed() -> None:
    store = Store()
    store.put_queue({"metadata": {"name": "q", "namespace": "ns"}, "spec": {"maxRunning": 1}})
    woken: list[Key] = []
    found = queues.Queues(store, None, None, woken.append, lambda: NOW)  # type: ignore[arg-type]
    task = make_task(spec={"command": ["x"], "queue": "q"}, status={"phase": "Running"})
    store.put_task(task)
    found.task_event(task)
    first = found.view("ns", "q")
    progressed = copy.deepcopy(task)
    progressed["status"]["progress"] = 50  # a runner's progress: admission reads none of it
    found.task_event(progressed)
    assert found.view("ns", "q") is first
    ended = copy.deepcopy(task)
    ended["status"]["phase"] = "Succeeded"
    found.task_event(ended)
    assert found.view("ns", "q") is not first
    second = found.view("ns", "q")
    job = make_job("demo-1", active=1)
    job["metadata"]["labels"][taskqueue.LABEL_QUEUE] = "q"
    found.job_event(job)
    third = found.view("ns", "q")
    assert third is not second
    found.job_event(make_job_ready(job))  # its pod became ready: still live
    assert found.view("ns", "q") is third
    found.job_event(job, gone=True)
    assert found.view("ns", "q") is not third


def make_job_ready(job: dict[str, Any]) -> dict[str, Any]:
    ready = copy.deepcopy(job)
    ready["status"]["ready"] = 1
    return ready
