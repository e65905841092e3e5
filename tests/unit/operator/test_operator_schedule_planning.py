"""The schedule's pure decision (schedules.planning.decide): slots, missed-run policies,
concurrency, history, failures and suspension, without a cluster."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, cast

import pytest
from longtask.core import schedule
from longtask.core.resource import Phase
from longtask.core.schedule import LongTaskSchedule, Reason
from longtask.operator.schedules import planning
from longtask.operator.schedules.runs import Run

UTC = dt.UTC
# Every 10 minutes; the schedule exists since 11:00.
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
CREATED = "2026-01-01T11:00:00Z"


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def make_schedule(status: dict[str, Any] | None = None, **spec: Any) -> LongTaskSchedule:
    body = {
        "apiVersion": schedule.API_VERSION,
        "kind": schedule.KIND,
        "metadata": {
            "name": "every10",
            "namespace": "ns",
            "uid": "sched-uid",
            "generation": 1,
            "resourceVersion": "100",
            "creationTimestamp": CREATED,
        },
        "spec": {"schedule": "*/10 * * * *", "template": {"spec": {"command": ["true"]}}, **spec},
        "status": status or {},
    }
    return cast(LongTaskSchedule, body)


def make_run(
    slot: dt.datetime,
    phase: Phase | None = Phase.RUNNING,
    completed: dt.datetime | None = None,
    owner: str = "sched-uid",
) -> Run:
    return Run(
        name=schedule.run_name("every10", slot),
        uid=f"uid-{slot:%H%M}",
        owner_uid=owner,
        schedule="every10",
        slot=slot,
        trigger="schedule",
        phase=phase,
        created=slot,
        completed=completed,
        message="boom" if phase is Phase.FAILED else "",
    )


def plan_of(
    sched: LongTaskSchedule,
    now: dt.datetime,
    runs: list[Run] | None = None,
    watched_since: dt.datetime | None = None,
    allow_seconds: bool = False,
) -> planning.Plan:
    obs = planning.Observation(
        now=now, runs=runs or [], watched_since=watched_since or now - minutes(60), fresh=True
    )
    decision = planning.decide(sched, obs, allow_seconds)
    assert isinstance(decision, planning.Plan), decision
    return decision


def created_slots(plan: planning.Plan) -> list[str]:
    return [run["metadata"]["labels"][schedule.LABEL_SCHEDULED_TIME] for run in plan.create]


def condition(plan: planning.Plan, kind: str) -> dict[str, Any]:
    assert plan.status is not None
    (found,) = [c for c in plan.status.get("conditions") or [] if c["type"] == kind]
    return dict(found)


# Slots on time ----------------------------------------------------------------------------


def test_a_slot_that_falls_while_watched_starts_its_run() -> None:
    sched = make_schedule({"lastScheduleTime": "2026-01-01T11:50:00Z"})
    plan = plan_of(sched, T0 + dt.timedelta(seconds=0.2))
    assert [r["metadata"]["name"] for r in plan.create] == ["every10-20260101-120000"]
    assert plan.status is not None
    assert plan.status["lastScheduleTime"] == "2026-01-01T12:00:00Z"
    assert plan.status["nextScheduleTime"] == "2026-01-01T12:10:00Z"
    assert plan.status["active"] == [
        {"name": "every10-20260101-120000", "scheduledTime": "2026-01-01T12:00:00Z"}
    ]
    assert plan.status["activeRuns"] == 1
    assert condition(plan, "Ready")["status"] == "True"
    assert plan.requeue_after == pytest.approx(599.8)
    assert plan.resource_version == "100"
    assert [e.reason for e in plan.events] == [Reason.RUN_STARTED]
    assert plan.missed == []


def test_before_creating_runs_the_decision_asks_for_the_schedule_as_it_is_now() -> None:
    sched = make_schedule({"lastScheduleTime": "2026-01-01T11:50:00Z"})
    obs = planning.Observation(now=T0, watched_since=T0 - minutes(60))
    assert planning.decide(sched, obs, False) == planning.ReadSchedule()


def test_no_slot_due_writes_nothing_and_waits_for_the_next() -> None:
    sched = make_schedule({"lastScheduleTime": "2026-01-01T12:00:00Z"})
    first = plan_of(sched, T0 + minutes(3))
    assert first.create == []
    assert first.requeue_after == pytest.approx(420)
    assert first.status is not None  # the first round writes Ready and the next slot
    settled = make_schedule({"lastScheduleTime": "2026-01-01T12:00:00Z", **first.status})
    again = plan_of(settled, T0 + minutes(4))
    assert again.status is None
    assert again.create == []


def test_a_new_schedule_starts_from_its_creation() -> None:
    plan = plan_of(make_schedule(), dt.datetime(2026, 1, 1, 11, 10, 1, tzinfo=UTC))
    assert created_slots(plan) == ["20260101T111000Z"]


def test_the_same_input_gives_the_same_plan() -> None:
    sched = make_schedule({"lastScheduleTime": "2026-01-01T11:50:00Z"})
    assert plan_of(sched, T0) == plan_of(sched, T0)


# Missed slots -----------------------------------------------------------------------------

# The operator was down from 11:25 to 11:58: slots 11:30, 11:40, 11:50 passed unwatched.
RESTART = T0 - minutes(2)
DOWN = {"lastScheduleTime": "2026-01-01T11:20:00Z"}


@pytest.mark.parametrize(
    ("policy", "started"),
    [
        ("Skip", []),
        ("RunLatest", ["20260101T115000Z"]),
        ("RunAll", ["20260101T113000Z", "20260101T114000Z", "20260101T115000Z"]),
    ],
)
def test_slots_missed_while_no_operator_watched_follow_missed_runs(
    policy: str, started: list[str]
) -> None:
    plan = plan_of(make_schedule(DOWN, missedRuns=policy), RESTART, watched_since=RESTART)
    assert created_slots(plan) == started
    assert len(plan.missed) == 3 - len(started)
    assert {m.reason for m in plan.missed} <= {Reason.MISSED}
    assert plan.status is not None
    assert plan.status["lastScheduleTime"] == "2026-01-01T11:50:00Z"
    skipped = [e for e in plan.events if e.reason is Reason.MISSED]
    assert len(skipped) == len(plan.missed)
    assert all("skipped" in e.message for e in skipped)


def test_skip_still_starts_the_slot_that_falls_once_it_watches() -> None:
    plan = plan_of(make_schedule(DOWN, missedRuns="Skip"), T0, watched_since=RESTART)
    assert created_slots(plan) == ["20260101T120000Z"]
    assert [m.slot.minute for m in plan.missed] == [30, 40, 50]


def test_run_all_starts_at_most_max_missed_runs_the_latest() -> None:
    sched = make_schedule(DOWN, missedRuns="RunAll", maxMissedRuns=2)
    plan = plan_of(sched, RESTART, watched_since=RESTART)
    assert created_slots(plan) == ["20260101T114000Z", "20260101T115000Z"]
    assert [(m.slot.minute, m.reason) for m in plan.missed] == [(30, Reason.TOO_MANY_MISSED)]


def test_the_starting_deadline_bounds_every_policy() -> None:
    sched = make_schedule(DOWN, missedRuns="RunAll", startingDeadlineSeconds=900)
    plan = plan_of(sched, RESTART, watched_since=RESTART)
    # 11:58 now: 11:30 is 28 minutes late, 11:40 18, 11:50 8.
    assert created_slots(plan) == ["20260101T115000Z"]
    assert [m.reason for m in plan.missed] == [Reason.DEADLINE_EXCEEDED] * 2


def test_a_year_of_missed_minutes_is_walked_in_bounded_rounds() -> None:
    sched = make_schedule({"lastScheduleTime": "2025-01-01T00:00:00Z"}, schedule="* * * * *")
    plan = plan_of(sched, T0, watched_since=T0)
    assert plan.create == []
    assert len(plan.missed) == planning.SLOT_CHUNK
    assert plan.requeue_after == 0.0
    events = [e for e in plan.events if e.reason is Reason.MISSED]
    assert len(events) == planning.MAX_SLOT_EVENTS + 1
    assert f"{planning.SLOT_CHUNK - planning.MAX_SLOT_EVENTS} more slots skipped" in (
        events[-1].message
    )
    assert plan.status is not None
    assert plan.status["lastScheduleTime"] == "2025-01-02T09:20:00Z"  # 2000 minutes later


# Concurrency ------------------------------------------------------------------------------

LAST = {"lastScheduleTime": "2026-01-01T11:50:00Z"}
RUNNING = make_run(T0 - minutes(10))


def test_forbid_skips_the_slot_while_a_run_is_active() -> None:
    sched = make_schedule(LAST, concurrencyPolicy="Forbid")
    plan = plan_of(sched, T0, runs=[RUNNING])
    assert plan.create == []
    (missed,) = plan.missed
    assert missed.reason is Reason.CONCURRENCY_FORBID
    assert RUNNING.name in missed.why
    assert plan.status is not None
    assert plan.status["lastScheduleTime"] == "2026-01-01T12:00:00Z"
    assert plan.status["activeRuns"] == 1


def test_forbid_starts_the_slot_once_the_run_finished() -> None:
    done = dataclasses.replace(RUNNING, phase=Phase.SUCCEEDED, completed=T0 - minutes(1))
    plan = plan_of(make_schedule(LAST, concurrencyPolicy="Forbid"), T0, runs=[done])
    assert created_slots(plan) == ["20260101T120000Z"]


def test_replace_cancels_the_active_run_and_starts_the_slot() -> None:
    plan = plan_of(make_schedule(LAST, concurrencyPolicy="Replace"), T0, runs=[RUNNING])
    assert plan.cancel == [RUNNING.name]
    assert created_slots(plan) == ["20260101T120000Z"]
    assert Reason.RUN_REPLACED in [e.reason for e in plan.events]


def test_allow_starts_alongside() -> None:
    plan = plan_of(make_schedule(LAST), T0, runs=[RUNNING])
    assert plan.cancel == []
    assert created_slots(plan) == ["20260101T120000Z"]
    assert plan.status is not None
    assert plan.status["activeRuns"] == 2


def test_a_slot_whose_run_exists_is_not_started_again() -> None:
    existing = make_run(T0)
    plan = plan_of(make_schedule(LAST, concurrencyPolicy="Replace"), T0, runs=[existing])
    assert plan.create == []
    assert plan.cancel == []
    assert plan.missed == []


# Finished runs: failures, history ----------------------------------------------------------


def finished(minute: int, phase: Phase) -> Run:
    slot = T0 - minutes(60 - minute)
    return make_run(slot, phase, completed=slot + minutes(1))


def test_finished_runs_are_counted_once_in_the_order_they_ended() -> None:
    runs = [finished(0, Phase.SUCCEEDED), finished(10, Phase.FAILED), finished(20, Phase.FAILED)]
    plan = plan_of(
        make_schedule({"lastScheduleTime": "2026-01-01T11:20:00Z"}), T0 - minutes(35), runs
    )
    assert plan.status is not None
    assert plan.status["consecutiveFailures"] == 2
    assert plan.status["lastRun"]["name"] == runs[-1].name
    assert plan.status["lastRun"]["phase"] == "Failed"
    assert plan.status["lastSuccessfulTime"].startswith("2026-01-01T11:01:00")
    counted = make_schedule({"lastScheduleTime": "2026-01-01T11:20:00Z", **plan.status})
    again = plan_of(counted, T0 - minutes(34), runs)
    assert again.status is None or "consecutiveFailures" not in again.status


def test_history_limits_delete_the_oldest_finished_runs() -> None:
    runs = [finished(m, Phase.SUCCEEDED) for m in (0, 10, 20)]
    runs += [finished(m, Phase.FAILED) for m in (30, 40)]
    sched = make_schedule(
        {"lastScheduleTime": "2026-01-01T11:40:00Z"},
        successfulRunsHistoryLimit=1,
        failedRunsHistoryLimit=1,
    )
    plan = plan_of(sched, T0 - minutes(15), runs)
    assert sorted(name for name, _ in plan.delete) == sorted(
        [runs[0].name, runs[1].name, runs[3].name]
    )


def test_pause_after_failures_suspends_with_a_condition_that_says_why() -> None:
    runs = [finished(m, Phase.FAILED) for m in (0, 10, 20)]
    sched = make_schedule({"lastScheduleTime": "2026-01-01T11:20:00Z"}, pauseAfterFailures=3)
    plan = plan_of(sched, T0 - minutes(30), runs)
    assert plan.pause
    assert plan.create == []
    suspended = condition(plan, "Suspended")
    assert (suspended["status"], suspended["reason"]) == ("True", "TooManyFailures")
    assert "3 failed runs in a row" in suspended["message"]
    assert runs[-1].name in suspended["message"]
    assert condition(plan, "Ready")["status"] == "False"
    assert plan.status is not None
    assert plan.status.get("nextScheduleTime") is None
    assert Reason.TOO_MANY_FAILURES in [e.reason for e in plan.events]


def test_resuming_after_a_pause_counts_failures_from_zero() -> None:
    paused = {
        "lastScheduleTime": "2026-01-01T11:20:00Z",
        "consecutiveFailures": 3,
        "conditions": [
            {"type": "Suspended", "status": "True", "reason": "TooManyFailures", "message": "x"}
        ],
    }
    plan = plan_of(make_schedule(paused, pauseAfterFailures=3), T0 - minutes(35))
    assert not plan.pause
    assert plan.status is not None
    assert plan.status["consecutiveFailures"] == 0
    assert (condition(plan, "Suspended")["status"], condition(plan, "Suspended")["reason"]) == (
        "False",
        "Resumed",
    )


def test_a_suspended_schedule_starts_nothing_and_has_no_next_slot() -> None:
    plan = plan_of(make_schedule(DOWN, suspend=True), T0)
    assert plan.create == []
    assert plan.missed == []
    assert not plan.watching
    assert plan.status is not None
    assert plan.status.get("nextScheduleTime") is None
    assert "lastScheduleTime" not in plan.status  # its slots count as missed at resume
    assert condition(plan, "Suspended")["reason"] == "Suspended"


# Validity and lookups ----------------------------------------------------------------------


def test_a_seconds_field_is_refused_unless_the_operator_allows_it() -> None:
    sched = make_schedule(LAST, schedule="*/5 * * * * *")
    plan = plan_of(sched, T0)
    ready = condition(plan, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "SecondsNotEnabled")
    assert "LONGTASK_SCHEDULE_SECONDS" in ready["message"]
    assert [e.reason for e in plan.events] == [Reason.SECONDS_NOT_ENABLED]
    assert plan.create == []
    allowed = plan_of(sched, T0, allow_seconds=True)
    assert created_slots(allowed)[-1] == "20260101T120000Z"


def test_an_invalid_schedule_is_reported_once() -> None:
    sched = make_schedule(LAST, schedule="5-3 * * * *")
    plan = plan_of(sched, T0)
    ready = condition(plan, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSchedule")
    assert ready["message"].startswith("spec.schedule:")
    assert plan.status is not None
    again = plan_of(make_schedule({**LAST, **plan.status}, schedule="5-3 * * * *"), T0)
    assert again.events == []


def test_active_runs_missing_from_the_store_are_looked_up() -> None:
    status = {**LAST, "active": [{"name": RUNNING.name}], "activeRuns": 1}
    sched = make_schedule(status, concurrencyPolicy="Forbid")
    obs = planning.Observation(now=T0, watched_since=T0 - minutes(60), fresh=True)
    assert planning.decide(sched, obs, False) == planning.LookUpRuns((RUNNING.name,))
    still = planning.decide(
        sched, dataclasses.replace(obs, looked_up={RUNNING.name: RUNNING}), False
    )
    assert isinstance(still, planning.Plan)
    assert [m.reason for m in still.missed] == [Reason.CONCURRENCY_FORBID]
    gone = planning.decide(sched, dataclasses.replace(obs, looked_up={RUNNING.name: None}), False)
    assert isinstance(gone, planning.Plan)
    assert created_slots(gone) == ["20260101T120000Z"]


def test_runs_of_another_schedule_of_the_same_name_do_not_count() -> None:
    stranger = make_run(T0 - minutes(10), owner="old-uid")
    status = {**LAST, "active": [{"name": stranger.name}]}
    plan = planning.decide(
        make_schedule(status, concurrencyPolicy="Forbid"),
        planning.Observation(
            now=T0, watched_since=T0, fresh=True, looked_up={stranger.name: stranger}
        ),
        False,
    )
    assert isinstance(plan, planning.Plan)
    assert created_slots(plan) == ["20260101T120000Z"]


def test_a_dying_schedule_does_nothing() -> None:
    sched = make_schedule(LAST)
    sched["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:00Z"
    assert plan_of(sched, T0) == planning.Plan()
