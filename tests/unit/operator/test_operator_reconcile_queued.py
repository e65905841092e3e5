"""The lifecycle of a task of a LongTaskQueue: it asks its queue, waits Queued with a reason,
starts once admitted (its Job labelled for the queue), is cancelled without a Job, and a task of
a missing queue starts at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from longtask.core import taskqueue
from longtask.core.resource import ConditionType, LongTask, Phase, Reason
from longtask.core.taskqueue import QueueSpec
from longtask.operator import clock, conditions, queueing, reconcile
from longtask.operator.reconcile import Observation, QueueLookup
from longtask.operator.settings import Settings

from tests.fixtures.operator import T0, make_job, make_task

NOW = T0
SPEC = QueueSpec(maxRunning=2, concurrencyKey={"label": "tenant"})
FULL = queueing.Verdict(False, 4, Reason.QUEUE_FULL, "4th in queue q: 2 of 2 running", None)
ADMITTED = queueing.Verdict(True, 0, Reason.ADMITTED, "admitted by queue q", NOW)


def decide(task: LongTask, queue: QueueLookup | None = None, **obs: Any) -> Any:
    return reconcile.decide(task, Observation(now=NOW, queue=queue, **obs), Settings())


def queued_task(position: int = 4, reason: Reason = Reason.QUEUE_FULL, **status: Any) -> LongTask:
    cond = {"type": "Admitted", "status": "False", "reason": reason.value, "message": "…"}
    return make_task(
        spec={"command": ["x"], "queue": "q"},
        status={"phase": "Queued", "queuePosition": position, "conditions": [cond], **status},
    )


def admitted(plan: reconcile.Plan) -> dict[str, Any]:
    assert plan.status is not None
    found = conditions.find(plan.status.get("conditions", []), ConditionType.ADMITTED)
    assert found is not None
    return dict(found)


def test_a_new_task_of_a_queue_asks_it_then_waits_queued_with_its_reason() -> None:
    task = make_task(spec={"command": ["x"], "queue": "q"})
    assert decide(task) == reconcile.AskQueue("q")
    plan = decide(task, QueueLookup(SPEC, FULL))
    assert plan.create_job is None
    assert [(t.old, t.new) for t in plan.transitions] == [(None, Phase.QUEUED)]
    assert plan.status["queuePosition"] == 4
    found = admitted(plan)
    assert (found["status"], found["reason"]) == ("False", "QueueFull")
    assert found["message"] == "4th in queue q: 2 of 2 running"


def test_an_admitted_task_starts_with_its_job_labelled_for_the_queue_and_its_key() -> None:
    task = queued_task()
    task["metadata"]["labels"] = {"tenant": "team-a"}
    plan = decide(task, QueueLookup(SPEC, ADMITTED))
    assert plan.create_job is not None
    labels = plan.create_job["metadata"]["labels"]
    assert labels[taskqueue.LABEL_QUEUE] == "q" and labels[taskqueue.LABEL_QUEUE_KEY] == "team-a"
    assert "longtask.io/queue" not in plan.create_job["spec"]["template"]["metadata"]["labels"]
    assert [(t.old, t.new) for t in plan.transitions] == [(Phase.QUEUED, Phase.PENDING)]
    assert plan.status["queuePosition"] is None and plan.status["attempt"] == 1
    assert admitted(plan)["status"] == "True"


def test_a_queued_task_rewrites_its_place_only_when_it_halved_or_the_reason_changed() -> None:
    task = queued_task(position=8)
    moved = queueing.Verdict(False, 5, Reason.QUEUE_FULL, "5th in queue q: 2 of 2 running", None)
    assert decide(task, QueueLookup(SPEC, moved)).empty
    halved = queueing.Verdict(False, 4, Reason.QUEUE_FULL, "4th in queue q: 2 of 2 running", None)
    plan = decide(task, QueueLookup(SPEC, halved))
    assert plan.status["queuePosition"] == 4 and plan.transitions == []
    limited = queueing.Verdict(False, 7, Reason.RATE_LIMITED, "7th in queue q: …", None)
    assert admitted(decide(task, QueueLookup(SPEC, limited)))["reason"] == "RateLimited"


def test_cancelling_a_queued_task_creates_no_job() -> None:
    task = queued_task()
    task["spec"]["cancel"] = True
    plan = decide(task)
    assert plan.create_job is None and plan.delete_job is None
    assert [(t.old, t.new) for t in plan.transitions] == [(Phase.QUEUED, Phase.CANCELLED)]
    assert plan.status["queuePosition"] is None


def test_a_task_of_a_missing_queue_starts_at_once_without_queue_labels() -> None:
    task = make_task(spec={"command": ["x"], "queue": "nowhere"})
    plan = decide(task, QueueLookup(None))
    assert plan.create_job is not None
    assert taskqueue.LABEL_QUEUE not in plan.create_job["metadata"]["labels"]
    assert plan.admitted_by is None  # no queue admitted it: none is counted


def test_an_admitted_start_names_the_queue_that_admitted_it() -> None:
    assert decide(queued_task(), QueueLookup(SPEC, ADMITTED)).admitted_by == "q"
    assert decide(make_task(spec={"command": ["x"]})).admitted_by is None


def test_a_due_retry_asks_its_queue_and_waits_queued_keeping_its_due_time() -> None:
    due = clock.format_time(NOW - dt.timedelta(seconds=1))
    task = make_task(
        spec={"command": ["x"], "queue": "q"},
        status={"phase": "Retrying", "attempt": 1, "jobName": "demo-1", "nextAttemptTime": due},
    )
    failed = make_job("demo-1", conditions=[{"type": "Failed", "reason": "BackoffLimitExceeded"}])
    job = reconcile.JobLookup(failed)
    assert decide(task, job=job) == reconcile.AskQueue("q")
    plan = decide(task, QueueLookup(SPEC, FULL), job=job)
    assert [(t.old, t.new) for t in plan.transitions] == [(Phase.RETRYING, Phase.QUEUED)]
    assert "nextAttemptTime" not in plan.status
    plan = decide(task, QueueLookup(SPEC, ADMITTED), job=job)
    assert plan.create_job is not None and plan.create_job["metadata"]["name"] == "demo-2"
