"""Prometheus metrics of schedules (names from longtask.core.metrics), on the operator's registry.

The counters move as the controller acts: runs it started, slots it skipped (by reason). The
gauges are computed at scrape time from the stored schedules, as the task gauges are: the
consecutive failures of each schedule, and how far an active schedule is past its next slot
(a lag that grows means no operator is starting its slots).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import prometheus_client
from longtask.core import metrics as names
from longtask.core.schedule import LongTaskSchedule
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .. import clock

LABELS = ["namespace", "schedule"]


class _ScheduleCollector(Collector):
    def __init__(
        self, schedules: Callable[[], Iterable[LongTaskSchedule]], now: Callable[[], dt.datetime]
    ) -> None:
        self._schedules = schedules
        self._now = now

    def collect(self) -> Iterable[Any]:
        failures = GaugeMetricFamily(
            names.SCHEDULE_CONSECUTIVE_FAILURES,
            "Runs in a row of the schedule that failed.",
            labels=LABELS,
        )
        lag = GaugeMetricFamily(
            names.SCHEDULE_NEXT_RUN_LAG,
            "Seconds the schedule is past its next slot without having started it (0: on time).",
            labels=LABELS,
        )
        now = self._now()
        for sched in self._schedules():
            meta = sched["metadata"]
            status = sched.get("status") or {}
            labels = [meta["namespace"], meta["name"]]
            failures.add_metric(labels, float(status.get("consecutiveFailures") or 0))
            due = clock.parse_time(status.get("nextScheduleTime"))
            late = (now - due).total_seconds() if due is not None else 0.0
            lag.add_metric(labels, max(0.0, late))
        yield failures
        yield lag


class ScheduleMetrics:
    def __init__(self, registry: prometheus_client.CollectorRegistry) -> None:
        self.registry = registry
        self.runs_started = prometheus_client.Counter(
            names.SCHEDULE_RUNS_STARTED.removesuffix("_total"),
            "Runs the operator started for a schedule's slots.",
            [*LABELS, "trigger"],
            registry=registry,
        )
        self.slots_missed = prometheus_client.Counter(
            names.SCHEDULE_SLOTS_MISSED.removesuffix("_total"),
            "Slots of a schedule that got no run, by reason.",
            [*LABELS, "reason"],
            registry=registry,
        )

    def watch_schedules(
        self, schedules: Callable[[], Iterable[LongTaskSchedule]], now: Callable[[], dt.datetime]
    ) -> None:
        self.registry.register(_ScheduleCollector(schedules, now))
