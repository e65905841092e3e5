"""Runs of a schedule: deterministic names and the LongTask built for a slot."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from longtask.core import resource, schedule, wire
from longtask.core.schedule import Trigger

SLOT = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


def make_schedule(name: str = "nightly", **spec: Any) -> schedule.LongTaskSchedule:
    body = {
        "apiVersion": schedule.API_VERSION,
        "kind": schedule.KIND,
        "metadata": {"name": name, "namespace": "ns", "uid": "sched-uid"},
        "spec": {
            "schedule": "0 2 * * *",
            "template": {
                "metadata": {
                    "labels": {"team": "a", schedule.LABEL_TRIGGER: "forged"},
                    "annotations": {"note": "x"},
                },
                "spec": {"command": ["true"], "cancel": True, "timeoutSeconds": 60},
            },
            **spec,
        },
    }
    return cast(schedule.LongTaskSchedule, body)


def test_a_slot_s_run_is_named_from_the_schedule_and_the_utc_time() -> None:
    berlin = SLOT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert schedule.run_name("nightly", SLOT) == "nightly-20260301-020000"
    assert schedule.run_name("nightly", berlin) == "nightly-20260301-020000"
    assert schedule.run_name("nightly", SLOT, Trigger.BACKFILL) == "nightly-20260301-020000"
    assert schedule.run_name("nightly", SLOT, Trigger.MANUAL) == "nightly-manual-20260301-020000"


def test_the_longest_names_stay_valid_names_and_label_values() -> None:
    longest = "a" * schedule.NAME_MAX_CHARS
    name = schedule.run_name(longest, SLOT, Trigger.MANUAL)
    assert len(name) == 63
    assert wire.LABEL_VALUE_RE.match(name)
    too_long = schedule.run_name("b" * 60, SLOT)
    assert len(too_long) <= 63
    assert too_long != schedule.run_name("b" * 59, SLOT)


def test_the_run_is_the_template_owned_and_labelled() -> None:
    run = schedule.build_run(make_schedule(), SLOT)
    meta = run["metadata"]
    assert meta["name"] == "nightly-20260301-020000"
    assert meta["namespace"] == "ns"
    assert meta["labels"] == {
        "team": "a",
        schedule.LABEL_SCHEDULE: "nightly",
        schedule.LABEL_SCHEDULED_TIME: "20260301T020000Z",
        schedule.LABEL_TRIGGER: "schedule",
    }
    assert meta["annotations"] == {
        "note": "x",
        schedule.ANNOTATION_SCHEDULED_TIME: "2026-03-01T02:00:00Z",
    }
    (owner,) = meta["ownerReferences"]
    assert owner["kind"] == schedule.KIND
    assert owner["uid"] == "sched-uid"
    assert owner["controller"] is True
    assert run["spec"] == {"command": ["true"], "timeoutSeconds": 60}  # never born cancelled
    assert run["kind"] == resource.KIND


def test_the_label_time_reads_back() -> None:
    assert schedule.parse_label_time(schedule.label_time(SLOT)) == SLOT
    assert schedule.parse_label_time("yesterday") is None
