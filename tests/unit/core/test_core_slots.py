"""Cron slots (core.slots): checking expressions and time zones, and the instants they fire at,
across daylight-saving changes in Europe/Berlin and America/New_York."""

from __future__ import annotations

import datetime as dt

import pytest
from longtask.core import slots

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def local_times(expression: str, zone: str, start: str, end: str) -> list[str]:
    cron = slots.parse(expression, zone)
    found, complete = cron.between(at(start), at(end), 1000)
    assert complete
    return [s.astimezone(cron.zone).isoformat() for s in found]


# Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
# America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.


def test_berlin_spring_a_daily_slot_in_the_skipped_hour_runs_right_after_the_jump() -> None:
    assert local_times("30 2 * * *", "Europe/Berlin", "2026-03-28T00:00Z", "2026-03-30T12:00Z") == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]


def test_berlin_autumn_a_daily_slot_in_the_repeated_hour_runs_once() -> None:
    assert local_times("30 2 * * *", "Europe/Berlin", "2026-10-24T00:00Z", "2026-10-26T12:00Z") == [
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]


def test_berlin_hourly_slots_follow_real_time_across_both_changes() -> None:
    spring = local_times("0 * * * *", "Europe/Berlin", "2026-03-29T00:30Z", "2026-03-29T02:30Z")
    assert spring == ["2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"]  # no 02:00
    autumn = local_times("0 * * * *", "Europe/Berlin", "2026-10-24T23:30Z", "2026-10-25T02:30Z")
    assert autumn == [  # 02:00 twice: two real hours apart by one
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


def test_a_slot_asked_for_from_inside_the_repeated_hour_is_not_doubled() -> None:
    cron = slots.parse("30 2 * * *", "Europe/Berlin")
    # 02:40 CET on 25 October, the second pass through 02:xx: 02:30 was already today.
    assert cron.after(at("2026-10-25T01:40Z")) == at("2026-10-26T01:30Z")


def test_new_york_spring_and_autumn() -> None:
    spring = local_times("30 2 * * *", "America/New_York", "2026-03-07T12:00Z", "2026-03-09T12:00Z")
    assert spring == ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]
    autumn = local_times("30 1 * * *", "America/New_York", "2026-10-31T12:00Z", "2026-11-02T12:00Z")
    assert autumn == ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]


def test_new_york_every_15_minutes_through_the_repeated_hour_is_real_time() -> None:
    found = local_times(
        "*/15 * * * *", "America/New_York", "2026-11-01T05:50Z", "2026-11-01T06:20Z"
    )
    assert found == [
        "2026-11-01T01:00:00-05:00",  # 06:00Z: the second 01:00
        "2026-11-01T01:15:00-05:00",
    ]
    # 5 and 6 hours UTC both show 01:xx local: 8 slots from 05:00Z to 06:45Z, none lost
    cron = slots.parse("*/15 * * * *", "America/New_York")
    assert len(cron.between(at("2026-11-01T04:59Z"), at("2026-11-01T06:45Z"), 100)[0]) == 8


def test_macros_are_their_expressions() -> None:
    assert slots.parse("@daily", "UTC").expression == "0 0 * * *"
    assert slots.parse(" @HOURLY ", "UTC").expression == "0 * * * *"
    assert slots.parse("0  2 * *  *", "UTC").expression == "0 2 * * *"


def test_between_is_bounded_and_says_when_more_follow() -> None:
    cron = slots.parse("* * * * *", "UTC")
    found, complete = cron.between(at("2026-01-01T00:00Z"), at("2026-01-02T00:00Z"), 10)
    assert len(found) == 10
    assert not complete
    assert found[0] == at("2026-01-01T00:01Z")
    rest, complete = cron.between(found[-1], at("2026-01-01T00:15Z"), 10)
    assert complete
    assert rest[0] == at("2026-01-01T00:11Z")
    assert rest[-1] == at("2026-01-01T00:15Z")  # the end is included


@pytest.mark.parametrize(
    ("expression", "zone", "field", "says"),
    [
        ("61 * * * *", "UTC", "spec.schedule", "the minute field is invalid"),
        ("5-3 * * * *", "UTC", "spec.schedule", "the minute field is invalid"),
        ("0 0 30 2 *", "UTC", "spec.schedule", "the day-of-month field is invalid"),
        ("* * *", "UTC", "spec.schedule", "3 fields"),
        ("@fortnightly", "UTC", "spec.schedule", "unknown macro"),
        ("* * * * *", "Mars/Olympus", "spec.timeZone", "unknown time zone"),
        ("* * * * *", "localtime", "spec.timeZone", "unknown time zone"),
    ],
)
def test_invalid_schedules_name_the_field(
    expression: str, zone: str, field: str, says: str
) -> None:
    with pytest.raises(slots.InvalidSchedule) as caught:
        slots.parse(expression, zone)
    assert caught.value.field == field
    assert says in str(caught.value)
    assert not caught.value.seconds


def test_a_seconds_field_needs_to_be_allowed() -> None:
    with pytest.raises(slots.InvalidSchedule) as caught:
        slots.parse("*/5 * * * * *", "UTC")
    assert caught.value.seconds
    assert "LONGTASK_SCHEDULE_SECONDS" in caught.value.message
    cron = slots.parse("*/5 * * * * *", "UTC", allow_seconds=True)
    assert cron.has_seconds
    assert cron.after(at("2026-01-01T00:00:01Z")) == at("2026-01-01T00:00:05Z")
