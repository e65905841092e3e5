"""The archive of finished tasks: their records go to the history database, in batches, and a
finished task's TTL deletion waits until its record is committed (reconcile.CheckArchived).

Design choices:
1. The operator writes the history, not a process of its own: it alone decides that a task has
   finished for good, and it holds the TTL deletion. With the writer where the gate is, "deleted
   only after its record is committed" is a fact inside one process, not a protocol between two.
2. A record is rebuilt from the LongTask object (and its log tail in Redis), so the archive holds
   nothing the API server does not hold too. An operator killed before a commit finds the task
   again when it starts: every finished task is looked up in the history (one query per batch)
   and written when missing. The unique UID turns a repeated write into a no-op, so a restart
   or a second operator never doubles a record.
3. A database that is away costs no API write and no busy loop: the batch waits and is retried
   with backoff (1 s doubling to 15 s), each failure counted; the tasks stay in Kubernetes, their
   deletions held and counted (`longtask_history_deletions_waiting`), and everything is written
   when the database returns.
4. Memory is bounded by the operator's store: `pending` holds finished tasks not yet written,
   `committed` the UIDs of stored tasks known to be in the history.
5. Log tails and outputs are read from Redis just before writing. While Redis cannot answer, a
   task that finished less than LOG_WAIT_SECONDS ago waits for it; an older one is archived
   without them rather than held for ever. An output is kept bounded (its start,
   `records.output`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from longtask.core import outputs, resource
from longtask.core.resource import LongTask
from longtask.history import engines, migrating, pruning, records, writing
from longtask.history import settings as history_settings

from . import clock, leadership
from .metrics import Metrics

logger = logging.getLogger(__name__)

BATCH: Final = 200
RETRY_MIN_SECONDS: Final = 1.0
RETRY_MAX_SECONDS: Final = 15.0
# How long a finished task's record waits for Redis to give its log tail.
LOG_WAIT_SECONDS: Final = 60.0
# How often the loop wakes without news: records waiting for log tails, pruning when due.
IDLE_SECONDS: Final = 5.0

LogTails = Callable[[Sequence[str], int], Awaitable[dict[str, list[dict[str, str]]] | None]]
Outputs = Callable[[Sequence[str]], Awaitable[dict[str, outputs.Assembly] | None]]


async def _no_outputs(uids: Sequence[str]) -> dict[str, outputs.Assembly]:
    return {}


class Archiver:
    """Writes the records of finished tasks, in order of submission, tolerant of outages."""

    def __init__(
        self,
        settings: history_settings.Settings,
        log_tails: LogTails,
        metrics: Metrics,
        now: Callable[[], dt.datetime] = clock.now,
        may_write: Callable[[], bool] = lambda: True,
        read_outputs: Outputs = _no_outputs,
    ) -> None:
        """`may_write`: the leadership guard; a round while it says no is retried later.
        `read_outputs`: the tasks' outputs in Redis (None while Redis cannot say)."""
        self.settings = settings
        self._may_write = may_write
        self._engine = engines.create(settings.dsn)
        self._log_tails = log_tails
        self._read_outputs = read_outputs
        self.on_committed: Callable[[Sequence[LongTask]], None] = lambda tasks: None
        """Told of every batch of tasks whose records are committed (the controller)."""
        self._metrics = metrics
        self._now = now
        self._pending: dict[str, LongTask] = {}
        self._committed: set[str] = set()
        self._wakeup = asyncio.Event()
        self._migrated = not settings.migrate
        self._pruned_at: float | None = None

    # What the controller asks and tells ------------------------------------------------------

    def archived(self, uid: str) -> bool:
        """Whether the task's record is known to be committed."""
        return uid in self._committed

    def submit(self, task: LongTask) -> None:
        """Archive this finished task (its latest object wins until it is written)."""
        uid = task["metadata"]["uid"]
        if uid not in self._committed:
            self._pending[uid] = task
            self._wakeup.set()

    def forget(self, uid: str) -> None:
        """The task left the store: keep no memory of it once it is written."""
        self._committed.discard(uid)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def lag(self, now: dt.datetime) -> float:
        """Seconds since the oldest finished task not yet written finished (0: none)."""
        oldest = min((_finished(t) or now for t in self._pending.values()), default=now)
        return max(0.0, (now - oldest).total_seconds())

    # The loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Write pending records until cancelled; prune when due (design choice 3)."""
        delay = RETRY_MIN_SECONDS
        while True:
            try:
                await self.flush()
                await self._prune_when_due()
            except Exception as exc:  # the database is away, or one bad batch: retry later
                self._metrics.history_write_failures.inc()
                logger.warning(
                    "history write failed (%s: %s); %d records wait, next try in %.0fs",
                    type(exc).__name__,
                    str(exc).splitlines()[0][:200] if str(exc) else "",
                    len(self._pending),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            delay = RETRY_MIN_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=IDLE_SECONDS)
            self._wakeup.clear()

    async def flush(self) -> None:
        """Write every pending record that can be written now (raises when the database fails,
        and NotLeader while this replica may not write)."""
        if not self._may_write():
            raise leadership.NotLeader("not the leader: history write refused")
        if not self._migrated:
            await asyncio.to_thread(migrating.upgrade, self.settings.dsn)
            self._migrated = True
            logger.info("history schema at %s", migrating.head())
        queued = list(self._pending.items())
        for start in range(0, len(queued), BATCH):
            await self._write(queued[start : start + BATCH])

    async def _write(self, batch: Sequence[tuple[str, LongTask]]) -> None:
        known = await writing.archived(self._engine, [uid for uid, _ in batch])
        todo = [(uid, task) for uid, task in batch if uid not in known]
        uids = [uid for uid, _ in todo]
        tails = await self._log_tails(uids, self.settings.log_lines)
        found = await self._read_outputs(uids) if self.settings.output_bytes > 0 else {}
        now = self._now()
        built: list[records.Record] = []
        waiting: set[str] = set()
        for uid, task in todo:
            finished = _finished(task) or now
            unknown = tails is None or found is None
            if unknown and (now - finished).total_seconds() < LOG_WAIT_SECONDS:
                waiting.add(uid)  # design choice 5
                continue
            lines = [records.log_line(fields) for fields in (tails or {}).get(uid, [])]
            assembly = (found or {}).get(uid)
            kept = records.output(assembly, self.settings.output_bytes) if assembly else None
            try:
                built.append(records.build(task, lines, self.settings.params, now, kept))
            except ValueError:  # not finished after all: nothing to archive
                logger.exception("not archived: %s", uid)
                known.add(uid)
        written = await writing.write(self._engine, built, now)
        for record in built:
            if record.uid in written:
                self._metrics.history_written.labels(record.namespace).inc()
        done = [task for uid, task in batch if uid not in waiting]
        for task in done:
            uid = task["metadata"]["uid"]
            self._committed.add(uid)
            if self._pending.get(uid) is task:  # a newer object submitted meanwhile: write it
                del self._pending[uid]
        if done:
            self.on_committed(done)

    async def _prune_when_due(self) -> None:
        if self.settings.retention_days <= 0:
            return
        clock_now = time.monotonic()
        if self._pruned_at is not None and (
            clock_now - self._pruned_at < self.settings.prune_interval_seconds
        ):
            return
        self._pruned_at = clock_now
        before = self._now() - dt.timedelta(days=self.settings.retention_days)
        total = 0
        while True:
            deleted = await pruning.prune_batch(self._engine, before, self.settings.prune_batch)
            self._metrics.history_pruned.inc(deleted)
            total += deleted
            if deleted < self.settings.prune_batch:
                break
            await asyncio.sleep(0)  # other coroutines run between batches
        if total:
            logger.info("pruned %d history records finished before %s", total, before.isoformat())

    async def close(self) -> None:
        await self._engine.dispose()


def _finished(task: LongTask) -> dt.datetime | None:
    return clock.parse_time((task.get("status") or {}).get("completionTime"))


def is_final(task: LongTask) -> bool:
    phase = resource.phase_of(task.get("status") or {})
    return phase is not None and phase.is_final
