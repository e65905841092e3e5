"""The gateway's schedule views and the runs a trigger or a backfill creates (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from longtask.api import scheduleobjects
from longtask.core import schedule
from longtask.core.wire import ApiError

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 0, 30, 123456, tzinfo=UTC)


def make_schedule(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": schedule.API_VERSION,
        "kind": schedule.KIND,
        "metadata": {"name": "nightly", "namespace": "ns", "uid": "s-uid"},
        "spec": {"schedule": "0 2 * * *", "template": {"spec": {"command": ["true"]}}, **spec},
        "status": status or {},
    }


def make_run(name: str, slot: str, phase: str | None, owner: str = "s-uid") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {
                schedule.LABEL_SCHEDULE: "nightly",
                schedule.LABEL_SCHEDULED_TIME: slot,
                schedule.LABEL_TRIGGER: "schedule",
            },
            "ownerReferences": [{"kind": schedule.KIND, "uid": owner, "controller": True}],
        },
        "status": {"phase": phase} if phase else {},
    }


def test_runs_are_the_schedule_s_own_newest_first() -> None:
    runs = [
        make_run("nightly-1", "20260301T020000Z", "Succeeded"),
        make_run("nightly-3", "20260303T020000Z", None),
        make_run("nightly-2", "20260302T020000Z", "Failed"),
        make_run("nightly-old", "20260304T020000Z", "Failed", owner="previous-uid"),
    ]
    found = scheduleobjects.runs_of(make_schedule(), runs)
    assert [r["metadata"]["name"] for r in found] == ["nightly-3", "nightly-2", "nightly-1"]
    view = scheduleobjects.schedule_view(make_schedule(), found)
    assert [(r.name, r.phase.value) for r in view.runs] == [
        ("nightly-3", "Pending"),
        ("nightly-2", "Failed"),
        ("nightly-1", "Succeeded"),
    ]
    assert view.runs[0].scheduled_time == dt.datetime(2026, 3, 3, 2, tzinfo=UTC)


def test_the_view_says_why_a_schedule_is_not_ready() -> None:
    status = {
        "nextScheduleTime": "2026-03-11T02:00:00Z",
        "activeRuns": 1,
        "consecutiveFailures": 2,
        "lastRun": {"name": "nightly-2", "phase": "Failed"},
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "Suspended", "message": "suspended"}
        ],
    }
    view = scheduleobjects.schedule_view(make_schedule(status, suspend=True), [])
    assert (view.ready, view.reason, view.suspend) == (False, "Suspended", True)
    assert view.next_schedule_time == dt.datetime(2026, 3, 11, 2, tzinfo=UTC)
    assert (view.active_runs, view.consecutive_failures) == (1, 2)
    assert view.last_run is not None and view.last_run.phase == "Failed"
    assert view.time_zone == "UTC"
    assert view.links.trigger == "/v1/namespaces/ns/schedules/nightly/trigger"
    fresh = scheduleobjects.schedule_view(make_schedule(), [])
    assert fresh.ready is None and fresh.reason is None


def test_a_trigger_is_a_manual_run_named_from_its_second() -> None:
    run = scheduleobjects.trigger_run(make_schedule(), NOW)
    assert run["metadata"]["name"] == "nightly-manual-20260310-120030"
    assert run["metadata"]["labels"][schedule.LABEL_TRIGGER] == "manual"
    assert run["metadata"]["ownerReferences"][0]["uid"] == "s-uid"


def test_backfill_slots_include_both_ends() -> None:
    start = dt.datetime(2026, 3, 1, 2, tzinfo=UTC)
    end = dt.datetime(2026, 3, 3, 2, tzinfo=UTC)
    found = scheduleobjects.backfill_slots(make_schedule(), start, end, NOW)
    assert found == [start, start + dt.timedelta(days=1), end]
    run = scheduleobjects.backfill_run(make_schedule(), found[0])
    assert run["metadata"]["name"] == "nightly-20260301-020000"  # the slot's own run
    assert run["metadata"]["labels"][schedule.LABEL_TRIGGER] == "backfill"


@pytest.mark.parametrize(
    ("start", "end", "code", "error"),
    [
        (NOW - dt.timedelta(days=1), NOW + dt.timedelta(hours=1), 422, "invalid_request"),
        (NOW - dt.timedelta(days=400), NOW, 422, "too_many_slots"),
    ],
)
def test_backfill_refuses_the_future_and_more_than_the_bound(
    start: dt.datetime, end: dt.datetime, code: int, error: str
) -> None:
    with pytest.raises(ApiError) as caught:
        scheduleobjects.backfill_slots(make_schedule(), start, end, NOW)
    assert (caught.value.status, caught.value.error) == (code, error)


def test_a_schedule_the_operator_refuses_cannot_be_run_by_hand() -> None:
    refused = make_schedule(
        {"conditions": [{"type": "Ready", "status": "False", "reason": "SecondsNotEnabled"}]}
    )
    with pytest.raises(ApiError) as caught:
        scheduleobjects.check_runnable(refused)
    assert (caught.value.status, caught.value.error) == (409, "schedule_invalid")
    suspended = make_schedule(
        {"conditions": [{"type": "Ready", "status": "False", "reason": "Suspended"}]}
    )
    scheduleobjects.check_runnable(suspended)  # a suspended schedule may still run by hand
