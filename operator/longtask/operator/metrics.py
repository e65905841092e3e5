"""The operator's Prometheus metrics (names from longtask.core.metrics), on their own registry.

Counters and histograms are updated from phase transitions as the operator makes them. The gauges
(running, pending, stalled) are computed at scrape time from the in-memory store, so they cannot
drift, and they are right again at once after a restart.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import prometheus_client
from longtask.core import metrics as names
from longtask.core import resource
from longtask.core.resource import ConditionType, LongTask, Phase, Reason
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from . import clock, conditions, leadership
from .reconcile import Transition

# Buckets for tasks that run from seconds to hours.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
QUEUE_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)


def _base(name: str) -> str:
    """prometheus_client adds `_total` to counter names itself."""
    return name.removesuffix("_total")


class _StateCollector(Collector):
    def __init__(
        self,
        tasks: Callable[[], Iterable[LongTask]],
        writes: Callable[[], Mapping[str, int]],
    ) -> None:
        self._tasks = tasks
        self._writes = writes

    def collect(self) -> Iterable[Any]:
        running: collections.Counter[str] = collections.Counter()
        pending: collections.Counter[str] = collections.Counter()
        stalled: collections.Counter[str] = collections.Counter()
        seen: set[str] = set()
        for task in self._tasks():
            namespace = task["metadata"]["namespace"]
            seen.add(namespace)
            status = task.get("status") or {}
            phase = resource.phase_of(status)
            if phase is Phase.RUNNING:
                running[namespace] += 1
                if conditions.is_true(status.get("conditions") or [], ConditionType.STALLED):
                    stalled[namespace] += 1
            elif phase is Phase.PENDING or phase is None:
                pending[namespace] += 1
        for name, doc, counts in (
            (names.TASKS_RUNNING, "Tasks whose attempt runs.", running),
            (names.TASKS_PENDING, "Tasks waiting for their attempt's pod.", pending),
            (names.TASKS_STALLED, "Running tasks without a recent heartbeat.", stalled),
        ):
            family = GaugeMetricFamily(name, doc, labels=["namespace"])
            for namespace in sorted(seen):  # zeros too: alerts need the series to exist
                family.add_metric([namespace], counts[namespace])
            yield family
        writes = CounterMetricFamily(
            _base(names.OPERATOR_API_WRITES),
            "Kubernetes API writes issued by the operator.",
            labels=["verb"],
        )
        for verb, value in sorted(self._writes().items()):
            writes.add_metric([verb], value)
        yield writes


class _LeadershipCollector(Collector):
    def __init__(self, guard: leadership.Leadership) -> None:
        self._guard = guard

    def collect(self) -> Iterable[Any]:
        yield GaugeMetricFamily(
            names.OPERATOR_LEADER,
            "1 while this replica holds the Lease and may write.",
            value=1 if self._guard.holds() else 0,
        )
        yield CounterMetricFamily(
            _base(names.OPERATOR_WRITES_REFUSED),
            "Writes the leadership guard refused (tried while not leading).",
            value=self._guard.refused,
        )


@dataclasses.dataclass(frozen=True)
class QueueFigures:
    """A queue's gauges, as its latest admission view says."""

    namespace: str
    queue: str
    queued: int
    running: int
    oldest_wait: float
    rate_limit_delay: float


class _QueueCollector(Collector):
    def __init__(self, views: Callable[[], Iterable[QueueFigures]]) -> None:
        self._views = views

    def collect(self) -> Iterable[Any]:
        families = {
            "queued": GaugeMetricFamily(
                names.QUEUE_TASKS_QUEUED, "Tasks waiting for admission.", labels=_QUEUE_LABELS
            ),
            "running": GaugeMetricFamily(
                names.QUEUE_TASKS_RUNNING, "Tasks with a live attempt.", labels=_QUEUE_LABELS
            ),
            "oldest_wait": GaugeMetricFamily(
                names.QUEUE_OLDEST_WAIT,
                "Seconds the longest-waiting task has waited (0: none waits).",
                labels=_QUEUE_LABELS,
            ),
            "rate_limit_delay": GaugeMetricFamily(
                names.QUEUE_RATE_LIMIT_DELAY,
                "Seconds until the rate limit allows the next start (0: nothing waits on it).",
                labels=_QUEUE_LABELS,
            ),
        }
        for figures in self._views():
            for field, family in families.items():
                family.add_metric([figures.namespace, figures.queue], getattr(figures, field))
        yield from families.values()


_QUEUE_LABELS = ["namespace", "queue"]


class _HistoryCollector(Collector):
    def __init__(self, lag: Callable[[], float], waiting: Callable[[], int]) -> None:
        self._lag = lag
        self._waiting = waiting

    def collect(self) -> Iterable[Any]:
        yield GaugeMetricFamily(
            names.HISTORY_ARCHIVE_LAG,
            "Seconds since the oldest finished task not yet in the history finished (0: none).",
            value=self._lag(),
        )
        yield GaugeMetricFamily(
            names.HISTORY_DELETIONS_WAITING,
            "Finished tasks past their TTL whose deletion waits for their history record.",
            value=self._waiting(),
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = prometheus_client.CollectorRegistry()
        ns = ["namespace"]
        r = self.registry
        self.submitted = prometheus_client.Counter(
            _base(names.TASKS_SUBMITTED), "Tasks seen for the first time.", ns, registry=r
        )
        self.finished = prometheus_client.Counter(
            _base(names.TASKS_FINISHED),
            "Tasks that reached a final phase.",
            [*ns, "outcome"],
            registry=r,
        )
        self.duration = prometheus_client.Histogram(
            names.TASK_DURATION,
            "Seconds from creation to the final phase.",
            ns,
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.queue = prometheus_client.Histogram(
            names.TASK_QUEUE,
            "Seconds from creation to the first running attempt.",
            ns,
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self.retries = prometheus_client.Counter(
            _base(names.TASK_RETRIES), "Attempts that failed and are retried.", ns, registry=r
        )
        self.dead_letters = prometheus_client.Counter(
            _base(names.DEAD_LETTERS), "Tasks whose attempts were exhausted.", ns, registry=r
        )
        self.reconcile_errors = prometheus_client.Counter(
            _base(names.RECONCILE_ERRORS),
            "Reconciles that raised and were retried.",
            ns,
            registry=r,
        )
        self.redis_errors = prometheus_client.Counter(
            _base(names.OPERATOR_REDIS_ERRORS), "Failed Redis calls of the operator.", registry=r
        )
        self.history_written = prometheus_client.Counter(
            _base(names.HISTORY_RECORDS_WRITTEN),
            "Records of finished tasks written to the history.",
            ns,
            registry=r,
        )
        self.history_write_failures = prometheus_client.Counter(
            _base(names.HISTORY_WRITE_FAILURES),
            "Rounds of history writes that failed (and are retried).",
            registry=r,
        )
        qlabels = ["namespace", "queue"]
        self.admissions = prometheus_client.Counter(
            _base(names.QUEUE_ADMISSIONS), "Attempts a queue admitted.", qlabels, registry=r
        )
        self.queue_wait = prometheus_client.Histogram(
            names.QUEUE_WAIT,
            "Seconds an attempt waited for its queue (0 when admitted at once).",
            qlabels,
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self.history_pruned = prometheus_client.Counter(
            _base(names.HISTORY_ROWS_PRUNED),
            "History records deleted past their retention.",
            registry=r,
        )

    def watch_state(
        self,
        tasks: Callable[[], Iterable[LongTask]],
        writes: Callable[[], Mapping[str, int]],
    ) -> None:
        self.registry.register(_StateCollector(tasks, writes))

    def watch_leadership(self, guard: leadership.Leadership) -> None:
        """Whether this replica leads, and the writes its guard refused, at scrape time."""
        self.registry.register(_LeadershipCollector(guard))

    def watch_history(self, lag: Callable[[], float], waiting: Callable[[], int]) -> None:
        """Gauges of the archive, computed at scrape time."""
        self.registry.register(_HistoryCollector(lag, waiting))

    def watch_queues(self, views: Callable[[], Iterable[QueueFigures]]) -> None:
        """Gauges of every queue, computed at scrape time."""
        self.registry.register(_QueueCollector(views))

    def record(
        self,
        task: LongTask,
        transitions: Sequence[Transition],
        now: dt.datetime,
        admitted_by: str | None = None,
    ) -> None:
        """Count what `transitions` (just written to the task's status) mean; `admitted_by`
        names the queue that admitted the attempt they start (a queue that does not exist
        admits nothing: its tasks start at once)."""
        if admitted_by is not None:
            self._record_admission(task, admitted_by, transitions, now)
        meta = task["metadata"]
        namespace = str(meta["namespace"])
        created = clock.parse_time(meta.get("creationTimestamp"))
        age = max(0.0, (now - created).total_seconds()) if created else None
        started_before = bool((task.get("status") or {}).get("startTime"))
        for change in transitions:
            if change.old is None:
                self.submitted.labels(namespace).inc()
            if change.new is Phase.RUNNING and not started_before and age is not None:
                self.queue.labels(namespace).observe(age)
                started_before = True
            if change.new is Phase.RETRYING:
                self.retries.labels(namespace).inc()
            if change.new.is_final:
                self.finished.labels(namespace, change.new.value).inc()
                if age is not None:
                    self.duration.labels(namespace).observe(age)
                if change.reason is Reason.ATTEMPTS_EXHAUSTED:
                    self.dead_letters.labels(namespace).inc()

    def _record_admission(
        self, task: LongTask, queue: str, transitions: Sequence[Transition], now: dt.datetime
    ) -> None:
        if not any(c.new is Phase.PENDING for c in transitions):
            return
        namespace = str(task["metadata"]["namespace"])
        if any(c.new is Phase.QUEUED for c in transitions):
            return  # queued, not admitted
        status = task.get("status") or {}
        waited = 0.0
        if resource.phase_of(status) is Phase.QUEUED:
            found = conditions.find(status.get("conditions") or [], ConditionType.ADMITTED)
            since = clock.parse_time(found.get("lastTransitionTime") if found else None)
            waited = max(0.0, (now - since).total_seconds()) if since else 0.0
        self.admissions.labels(namespace, queue).inc()
        self.queue_wait.labels(namespace, queue).observe(waited)

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics in a background thread (port 0: not at all)."""
        if port:
            prometheus_client.start_http_server(port, addr=host, registry=self.registry)

    def exposition(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)
