"""The lifecycle of a task whose Jobs go to a Kueue LocalQueue: its Job is created suspended and
labelled, the task waits Pending with Admitted=False (WaitingForKueue) until Kueue unsuspends
the Job, a preempted attempt says so and is followed at once by the next (not counted against
maxAttempts), and cancelling a waiting task deletes its Job."""

from __future__ import annotations

from typing import Any

from longtask.core.resource import ConditionType, LongTask, Phase, Reason
from longtask.operator import conditions, kueue, reconcile, settings
from longtask.operator.reconcile import JobLookup, Observation
from longtask.operator.settings import Settings

from tests.fixtures.operator import T0, make_job, make_task

KUEUE = Settings(kueue_queue="team-a")


def decide(task: LongTask, job: dict[str, Any] | None = None, cfg: Settings = KUEUE) -> Any:
    lookup = JobLookup(job) if job is not None else None
    return reconcile.decide(task, Observation(now=T0, job=lookup), cfg)


def admitted(plan: reconcile.Plan) -> dict[str, Any]:
    assert plan.status is not None
    found = conditions.find(plan.status.get("conditions", []), ConditionType.ADMITTED)
    assert found is not None
    return dict(found)


def waiting_task(phase: str = "Pending", admitted_status: str = "False", **status: Any) -> LongTask:
    reason = "WaitingForKueue" if admitted_status == "False" else "KueueAdmitted"
    cond = {"type": "Admitted", "status": admitted_status, "reason": reason, "message": "…"}
    record = {"number": 1, "jobName": "demo-1", "start": "2026-01-01T11:59:30Z"}
    return make_task(
        status={
            "phase": phase,
            "attempt": 1,
            "jobName": "demo-1",
            "attempts": [record | {"outcome": "Running"}],
            "conditions": [cond],
            **status,
        }
    )


def suspended(status: str = "True") -> list[dict[str, Any]]:
    return [{"type": "Suspended", "status": status, "reason": "JobSuspended"}]


def test_the_setting_reads_the_local_queue() -> None:
    assert settings.from_env({"LONGTASK_KUEUE_QUEUE": " team-a "}).kueue_queue == "team-a"
    assert settings.from_env({}).kueue_queue == ""


def test_a_new_task_gets_a_suspended_job_labelled_for_the_local_queue_and_waits() -> None:
    plan = decide(make_task())
    job = plan.create_job
    assert job is not None and job["spec"]["suspend"] is True
    assert job["metadata"]["labels"][kueue.LABEL_QUEUE_NAME] == "team-a"
    # Kueue reads the Job's labels; the pod's are longtask's own.
    assert kueue.LABEL_QUEUE_NAME not in job["spec"]["template"]["metadata"]["labels"]
    assert [(t.old, t.new, t.reason) for t in plan.transitions] == [
        (None, Phase.PENDING, Reason.WAITING_FOR_KUEUE)
    ]
    found = admitted(plan)
    assert (found["status"], found["reason"]) == ("False", "WaitingForKueue")
    assert found["message"] == "waiting for Kueue admission in LocalQueue team-a"
    assert "waiting for Kueue admission" in plan.transitions[0].message


def test_the_tasks_own_label_names_its_local_queue_and_priority_class() -> None:
    task = make_task()
    task["metadata"]["labels"] = {
        kueue.LABEL_QUEUE_NAME: "team-b",
        kueue.LABEL_PRIORITY_CLASS: "urgent",
    }
    for cfg in (KUEUE, Settings()):
        job = decide(task, cfg=cfg).create_job
        assert job["spec"]["suspend"] is True
        labels = job["metadata"]["labels"]
        assert labels[kueue.LABEL_QUEUE_NAME] == "team-b"
        assert labels[kueue.LABEL_PRIORITY_CLASS] == "urgent"


def test_without_kueue_the_job_is_not_suspended() -> None:
    plan = decide(make_task(), cfg=Settings())
    assert "suspend" not in plan.create_job["spec"]
    assert plan.transitions[0].reason is Reason.JOB_CREATED


def test_a_suspended_job_keeps_the_task_waiting_without_writes() -> None:
    assert decide(waiting_task(), make_job(conditions=suspended())).empty


def test_kueue_unsuspending_the_job_admits_the_task_then_its_pod_runs() -> None:
    resumed = make_job(conditions=[{"type": "Suspended", "status": "False"}])
    plan = decide(waiting_task(), resumed)
    found = admitted(plan)
    assert (found["status"], found["reason"]) == ("True", "KueueAdmitted")
    assert found["message"] == "admitted by Kueue in LocalQueue team-a"
    assert plan.transitions == []  # still Pending until its pod runs
    running = make_job(conditions=[{"type": "Suspended", "status": "False"}], ready=1)
    plan = decide(waiting_task(admitted_status="True"), running)
    assert [(t.old, t.new) for t in plan.transitions] == [(Phase.PENDING, Phase.RUNNING)]


def test_a_pod_seen_running_before_the_resume_admits_and_runs_in_one_patch() -> None:
    plan = decide(waiting_task(), make_job(ready=1))
    assert admitted(plan)["status"] == "True"
    assert [(t.old, t.new) for t in plan.transitions] == [(Phase.PENDING, Phase.RUNNING)]


def test_a_running_attempt_whose_job_kueue_suspends_shows_preempted_and_waiting() -> None:
    task = waiting_task(phase="Running", admitted_status="True")
    plan = decide(task, make_job(conditions=suspended(), ready=1))
    assert plan.create_job is None and plan.delete_job is None
    assert [(t.old, t.new, t.reason) for t in plan.transitions] == [
        (Phase.RUNNING, Phase.PENDING, Reason.PREEMPTED)
    ]
    found = admitted(plan)
    assert (found["status"], found["reason"]) == ("False", "WaitingForKueue")
    assert "attempt 1 was preempted" in found["message"]
    assert "waiting for Kueue admission in LocalQueue team-a" in found["message"]


def test_a_job_failed_while_suspended_starts_the_next_attempt_at_once_uncounted() -> None:
    task = waiting_task(admitted_status="False", reason="Preempted")
    task["spec"]["retry"] = {"maxAttempts": 1}
    failed = make_job(
        conditions=[*suspended(), {"type": "Failed", "reason": "BackoffLimitExceeded"}], failed=1
    )
    plan = decide(task, failed)
    assert plan.create_job is not None and plan.create_job["metadata"]["name"] == "demo-2"
    assert plan.create_job["spec"]["suspend"] is True
    records = plan.status["attempts"]
    assert (records[0]["outcome"], records[0]["reason"]) == ("Failed", "Preempted")
    assert records[1]["number"] == 2 and plan.status.get("nextAttemptTime") is None
    assert [(t.new, t.reason) for t in plan.transitions] == [
        (Phase.PENDING, Reason.WAITING_FOR_KUEUE)
    ]
    # The preempted attempt does not count: attempt 2 of 2 with maxAttempts 1.
    assert "attempt 2 of 2" in plan.transitions[0].message
    assert plan.deadletter is None
    assert Reason.PREEMPTED in [e.reason for e in plan.events]


def test_cancelling_a_task_waiting_for_kueue_deletes_its_job() -> None:
    task = waiting_task()
    task["spec"]["cancel"] = True
    plan = decide(task, make_job(conditions=suspended()))
    assert plan.delete_job == "demo-1" and plan.create_job is None
    assert plan.status["phase"] == "Cancelled"


def test_an_empty_queue_label_cannot_leave_kueue_out() -> None:
    task = make_task()
    task["metadata"]["labels"] = {kueue.LABEL_QUEUE_NAME: ""}
    job = decide(task).create_job
    assert job["spec"]["suspend"] is True
    assert job["metadata"]["labels"][kueue.LABEL_QUEUE_NAME] == "team-a"
