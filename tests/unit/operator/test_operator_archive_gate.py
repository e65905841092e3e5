"""With the history on, a finished task reaches the archive before its TTL may delete it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from longtask.core.resource import LongTask
from longtask.history import settings as history_settings
from longtask.operator import clock, reconcile
from longtask.operator.reconcile import JobLookup, Observation
from longtask.operator.settings import Settings

from tests.fixtures.operator import T0, make_job, make_task

HISTORY = Settings(history=history_settings.Settings(dsn="sqlite:////tmp/never-opened.db"))


def decide(task: LongTask, **obs: Any) -> reconcile.Plan | reconcile.Need:
    """The decision with the attempt's Job looked up (gone, as after its own TTL)."""
    obs.setdefault("job", JobLookup())
    return reconcile.decide(task, Observation(now=T0, **obs), HISTORY, lambda: 0.5)


def finished(ttl: int | None, ended_ago: float) -> LongTask:
    spec: dict[str, Any] = {"command": ["x"]}
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    return make_task(
        spec=spec,
        status={
            "phase": "Succeeded",
            "attempt": 1,
            "completionTime": clock.format_time(T0 - dt.timedelta(seconds=ended_ago)),
        },
    )


def test_a_task_that_finishes_goes_to_the_archive() -> None:
    task = make_task(
        spec={"command": ["x"], "ttlSecondsAfterFinished": 5},
        status={"phase": "Running", "attempt": 1, "jobName": "demo-1"},
    )
    plan = decide(task, job=JobLookup(make_job(conditions=[{"type": "Complete"}])))
    assert isinstance(plan, reconcile.Plan)
    assert plan.archive and plan.requeue_after == 5.0 and not plan.delete_task


@pytest.mark.parametrize("ttl", [None, 60, 0])
def test_a_finished_task_asks_whether_its_record_is_in_the_history(ttl: int | None) -> None:
    assert decide(finished(ttl, 100)) == reconcile.CheckArchived("uid-1")


def test_a_due_deletion_waits_for_the_record() -> None:
    plan = decide(finished(60, 61), archived=False)
    assert isinstance(plan, reconcile.Plan)
    assert plan.archive and not plan.delete_task
    assert plan.requeue_after == reconcile.ARCHIVE_RECHECK_SECONDS


def test_a_due_deletion_goes_ahead_once_the_record_is_committed() -> None:
    plan = decide(finished(60, 61), archived=True)
    assert isinstance(plan, reconcile.Plan)
    assert plan.delete_task and not plan.archive


def test_a_record_not_yet_written_is_handed_over_before_the_ttl_is_due() -> None:
    plan = decide(finished(60, 20), archived=False)
    assert isinstance(plan, reconcile.Plan)
    assert plan.archive and plan.requeue_after == pytest.approx(40)
    kept = decide(finished(None, 20), archived=True)
    assert isinstance(kept, reconcile.Plan)
    assert not kept.archive and kept.requeue_after is None


def test_without_a_history_deletion_does_not_wait() -> None:
    obs = Observation(now=T0, job=JobLookup())
    plan = reconcile.decide(finished(60, 61), obs, Settings(), lambda: 0.5)
    assert isinstance(plan, reconcile.Plan) and plan.delete_task and not plan.archive
