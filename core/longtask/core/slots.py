"""The cron slots of a schedule: checking its expression and time zone, and the instants it
fires at. Needs the operator or gateway extra (cronsim, tzdata); the runner never imports it.

Design choices:
1. cronsim evaluates the expressions. It follows Debian cron's behaviour, including around
   daylight-saving changes (a job at a fixed local time that falls into the hour skipped in
   spring runs right after the jump; one in the hour repeated in autumn runs once; `*`-hour
   jobs follow real time), is typed, dependency-free and small. croniter, the other candidate,
   changed hands and maintainers in 2024-25 and has a longer record of DST bugs.
2. Macros (`@daily`, …) are the standard five-field expressions they stand for (a table, not a
   parser); cronsim does not read them.
3. An optional leading seconds field (six fields, cronsim's own form) exists for tests, so that
   a real schedule fires every few seconds. `parse` refuses it unless asked to allow it; the
   operator allows it only when started with LONGTASK_SCHEDULE_SECONDS=true, so a production
   schedule stays minute-based and one with seconds is refused with a condition, not obeyed.
4. Slots are computed in the schedule's time zone and returned in UTC. The time zones are the
   IANA names of the `tzdata` package (a known release, whatever the host has); the CRD lists
   the same names (`zone_names`, held equal by a test).
5. Every walk over slots is bounded: a schedule that missed a year of minutes is handled in
   chunks, never by one unbounded loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator
from importlib import resources
from typing import Final

import cronsim

MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIELD_NAMES: Final = ("minute", "hour", "day-of-month", "month", "day-of-week")
SCHEDULE_FIELD: Final = "spec.schedule"
TIME_ZONE_FIELD: Final = "spec.timeZone"


class InvalidSchedule(ValueError):
    """A schedule the operator cannot run; `field` is the spec field at fault."""

    def __init__(self, field: str, message: str, seconds: bool = False) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.seconds = seconds
        """True when the only fault is a seconds field that was not allowed."""


@functools.cache
def zone_names() -> tuple[str, ...]:
    """The IANA time zone names of the installed `tzdata` release, sorted."""
    text = resources.files("tzdata").joinpath("zones").read_text()
    return tuple(sorted(text.split()))


@dataclasses.dataclass(frozen=True)
class Cron:
    """A checked cron expression in its time zone."""

    expression: str
    """Five fields, or six with a leading seconds field (macros are expanded)."""
    zone: zoneinfo.ZoneInfo

    @property
    def has_seconds(self) -> bool:
        return len(self.expression.split()) == 6

    def after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first slot strictly after `moment` (UTC), or None when it never fires again."""
        return next(self.iterate(moment), None)

    def iterate(self, moment: dt.datetime) -> Iterator[dt.datetime]:
        """The slots strictly after `moment`, in order, in UTC."""
        start = moment.astimezone(dt.UTC)
        try:
            found = cronsim.CronSim(self.expression, start.astimezone(self.zone))
            for local in found:
                slot = local.astimezone(dt.UTC)
                # cronsim walks wall-clock time for fixed-time jobs; from inside an autumn
                # hour that repeats it can name an instant before `moment`.
                if slot > start:
                    yield slot
        except StopIteration:  # pragma: no cover - cronsim ends iteration itself
            return

    def between(
        self, start: dt.datetime, end: dt.datetime, limit: int
    ) -> tuple[list[dt.datetime], bool]:
        """The slots in (start, end], earliest first, at most `limit`; and whether that is all
        of them (False: more follow after the last one returned)."""
        found: list[dt.datetime] = []
        for slot in self.iterate(start):
            if slot > end:
                return found, True
            if len(found) == limit:
                return found, False
            found.append(slot)
        return found, True


def expand(schedule: str) -> str:
    """The expression without surrounding blanks, runs of blanks, or a macro."""
    text = " ".join(schedule.split())
    return MACROS.get(text.lower(), text)


def parse(schedule: str, time_zone: str, allow_seconds: bool = False) -> Cron:
    """The checked schedule; InvalidSchedule names the field at fault and why."""
    if time_zone not in zone_names():
        raise InvalidSchedule(
            TIME_ZONE_FIELD, f"unknown time zone {time_zone!r}: use an IANA name like Europe/Berlin"
        )
    zone = zoneinfo.ZoneInfo(time_zone)
    expression = expand(schedule)
    fields = expression.split()
    if expression.startswith("@"):
        raise InvalidSchedule(
            SCHEDULE_FIELD, f"unknown macro {expression!r}: use one of {', '.join(MACROS)}"
        )
    if len(fields) not in (5, 6):
        raise InvalidSchedule(
            SCHEDULE_FIELD,
            f"{len(fields)} fields: a cron expression has 5 "
            f"({' '.join(FIELD_NAMES)}) or is a macro like @daily",
        )
    try:
        cron = Cron(expression, zone)
        # Evaluate once: cronsim checks the fields when built, and finds schedules that never
        # fire (30 February) only when asked for a slot.
        if cron.after(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) is None:
            raise InvalidSchedule(SCHEDULE_FIELD, f"{schedule!r} never fires")
    except cronsim.CronSimError as exc:
        raise InvalidSchedule(SCHEDULE_FIELD, f"{schedule!r}: {_explain(exc)}") from None
    if cron.has_seconds and not allow_seconds:
        raise InvalidSchedule(
            SCHEDULE_FIELD,
            f"{schedule!r} has a seconds field (6 fields): schedules are minute-based; only an "
            "operator started with LONGTASK_SCHEDULE_SECONDS=true (for tests) accepts seconds",
            seconds=True,
        )
    return cron


def _explain(exc: cronsim.CronSimError) -> str:
    text = str(exc)  # "Bad minute", "Wrong number of fields", …
    if text.startswith("Bad "):
        return f"the {text[4:]} field is invalid"
    return text[:1].lower() + text[1:]
