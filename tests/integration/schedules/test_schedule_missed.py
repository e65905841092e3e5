"""Slots missed while no operator runs follow missedRuns exactly, never twice, also when two
operators start at once; pauseAfterFailures suspends a schedule whose runs keep failing."""

from __future__ import annotations

import collections
import datetime as dt
import functools
from typing import Any

from longtask.core import schedule, slots

from tests.fixtures.operator import OperatorProcess
from tests.fixtures.waiting import wait_for
from tests.integration.schedules.conftest import (
    OperatorFactory,
    Schedules,
    now,
    parse,
    slot_of,
    wait_until,
)

EVERY = "*/10 * * * * *"  # every 10 s: room for an operator to start between two slots
QUICK = {"spec": {"command": ["true"], "retry": {"maxAttempts": 1}}}
POLICIES = ("Skip", "RunLatest", "RunAll")


def last_handled(schedules: Schedules, name: str) -> dt.datetime:
    found = parse(schedules.status(name).get("lastScheduleTime"))
    assert found is not None, f"{name} has handled no slot"
    return found


def stop_across_three_slots(
    schedules: Schedules, names: list[str], stop: list[OperatorProcess]
) -> dict[str, list[dt.datetime]]:
    """Stop the operators, let three slots pass, and return each schedule's missed slots."""
    for process in stop:
        process.stop()
    handled = {name: last_handled(schedules, name) for name in names}
    cron = slots.parse(EVERY, "UTC", allow_seconds=True)
    third = max(handled.values())
    for _ in range(3):
        third = cron.after(third) or third
    wait_until(third + dt.timedelta(seconds=0.3))
    restart = now()
    missed = {}
    for name, last in handled.items():
        missed[name], _ = cron.between(last, restart, 100)
        assert len(missed[name]) >= 3, (name, missed[name])
    return missed


def missed_events_reach(schedules: Schedules, name: str, count: int) -> bool:
    events = [e for e in schedules.events(name) if e.reason == "Missed"]
    return sum(e.count or 1 for e in events) >= count


def assert_one_run_per_slot(runs: list[dict[str, Any]]) -> None:
    per_slot = collections.Counter(slot_of(r) for r in runs)
    assert set(per_slot.values()) == {1}, per_slot
    names = [r["metadata"]["name"] for r in runs]
    assert len(names) == len(set(names))
    for run in runs:
        assert run["metadata"]["name"].endswith(f"{slot_of(run):%Y%m%d-%H%M%S}")


def test_operator_down_across_three_slots_skip_runlatest_runall(
    operators: OperatorFactory, schedules: Schedules
) -> None:
    first = operators()
    first.start()
    for policy in POLICIES:
        schedules.create(
            policy.lower(),
            schedule=EVERY,
            missedRuns=policy,
            template=QUICK,
            successfulRunsHistoryLimit=20,
        )
    for policy in POLICIES:
        schedules.wait_status(
            policy.lower(), lambda s: bool(s.get("lastScheduleTime")), "a slot handled", 60
        )
    missed = stop_across_three_slots(schedules, [p.lower() for p in POLICIES], [first])

    second = operators()
    second.start()
    for policy in POLICIES:
        schedules.wait_handled(policy.lower(), missed[policy.lower()][-1], timeout=30)
    in_missed = {
        p: [s for s in schedules.run_slots(p.lower()) if s in missed[p.lower()]] for p in POLICIES
    }
    assert in_missed["Skip"] == []
    assert in_missed["RunLatest"] == [missed["runlatest"][-1]]
    assert in_missed["RunAll"] == missed["runall"]

    # Each skipped slot left an Event and a count; the operator then keeps the schedule.
    for policy, started in (("Skip", 0), ("RunLatest", 1), ("RunAll", len(missed["runall"]))):
        name = policy.lower()
        skipped = len(missed[name]) - started
        second.wait_metric(
            "longtask_schedule_slots_missed_total",
            skipped,
            namespace=schedules.namespace,
            schedule=name,
            reason="Missed",
        )
        wait_for(
            functools.partial(missed_events_reach, schedules, name, skipped),
            20,
            f"an Event per slot {name} skipped",
        )
    following = slots.parse(EVERY, "UTC", allow_seconds=True).after(missed["skip"][-1])
    assert following is not None
    for policy in POLICIES:
        schedules.wait_handled(policy.lower(), following, timeout=30)
        runs = schedules.runs(policy.lower())
        assert following in [slot_of(r) for r in runs], f"{policy}: the slot after the restart"
        assert_one_run_per_slot(runs)


def test_two_operators_started_at_once_start_each_missed_slot_once(
    operators: OperatorFactory, schedules: Schedules
) -> None:
    first = operators()
    first.start()
    schedules.create(
        "twice", schedule=EVERY, missedRuns="RunAll", template=QUICK, successfulRunsHistoryLimit=20
    )
    schedules.wait_status("twice", lambda s: bool(s.get("lastScheduleTime")), "a slot", 60)
    missed = stop_across_three_slots(schedules, ["twice"], [first])["twice"]

    pair = [operators(), operators()]
    for process in pair:  # both launched before either is ready
        process.start(wait=False)
    for process in pair:
        process.wait_ready()
    following = slots.parse(EVERY, "UTC", allow_seconds=True).after(missed[-1])
    assert following is not None
    schedules.wait_handled("twice", following, timeout=40)
    wait_for(lambda: following in schedules.run_slots("twice"), 30, "the next slot's run")

    runs = schedules.runs("twice")
    assert_one_run_per_slot(runs)
    assert [s for s in (slot_of(r) for r in runs) if missed[0] <= s <= following] == [
        *missed,
        following,
    ]

    # Counted where they were created: the two operators together started each run once.
    def started_by_the_pair() -> bool:
        created = [r for r in schedules.runs("twice") if slot_of(r) >= missed[0]]
        counted = sum(
            p.metric(
                "longtask_schedule_runs_started_total",
                namespace=schedules.namespace,
                schedule="twice",
                trigger="schedule",
            )
            for p in pair
        )
        return counted == len(created)

    wait_for(started_by_the_pair, 20, "one count per run across both operators")


def test_pause_after_failures_suspends_and_the_condition_says_why(
    sched_operator: OperatorProcess, schedules: Schedules
) -> None:
    schedules.create(
        "failing",
        schedule="*/3 * * * * *",
        concurrencyPolicy="Forbid",
        pauseAfterFailures=2,
        failedRunsHistoryLimit=10,
        template={"spec": {"command": ["sh", "-c", "echo broken; exit 3"]}},
    )
    paused = wait_for(
        lambda: (lambda s: s if s["spec"].get("suspend") else None)(schedules.get("failing")),
        90,
        "the schedule to pause itself",
    )
    status = paused.get("status") or {}
    status = schedules.wait_status(
        "failing",
        lambda s: any(
            c["type"] == "Suspended" and c["reason"] == "TooManyFailures"
            for c in s.get("conditions") or []
        ),
        "the Suspended condition",
    )
    (suspended,) = [c for c in status["conditions"] if c["type"] == "Suspended"]
    assert suspended["status"] == "True"
    assert "paused after 2 failed runs in a row" in suspended["message"]
    runs = schedules.runs("failing")
    assert [r["status"]["phase"] for r in runs] == ["Failed", "Failed"]
    assert runs[-1]["metadata"]["name"] in suspended["message"]
    (ready,) = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "TooManyFailures")
    assert status["consecutiveFailures"] == 2
    assert "nextScheduleTime" not in status
    wait_for(lambda: "TooManyFailures" in schedules.event_reasons("failing"), 20, "the Event")
    sched_operator.wait_metric(
        "longtask_schedule_consecutive_failures",
        2,
        namespace=schedules.namespace,
        schedule="failing",
    )
    # Suspended: the next two slots pass without a run.
    wait_until(now() + dt.timedelta(seconds=6.5))
    assert len(schedules.runs("failing")) == 2

    # Resumed: failures count from zero, and the latest missed slot runs (RunLatest).
    schedules.patch_spec("failing", suspend=False)
    resumed = schedules.wait_status(
        "failing",
        lambda s: any(
            c["type"] == "Suspended" and c["status"] == "False" for c in s.get("conditions") or []
        ),
        "the schedule to resume",
    )
    assert resumed["consecutiveFailures"] in (0, 1)  # a new run may have failed already
    wait_for(lambda: len(schedules.runs("failing")) >= 3, 30, "a run after resuming")
    wait_for(
        lambda: schedule.Reason.RESUMED.value in schedules.event_reasons("failing"), 20, "Resumed"
    )
