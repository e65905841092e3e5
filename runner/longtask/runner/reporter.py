"""The background reporter: takes what the task reports and writes it to Redis and the status.

Design choices (later code points back to them):

1. Own thread, own event loop. The reporter never shares a loop with the task, so a task that
   blocks its loop (or hogs a thread) does not stop heartbeats, and Redis or API-server latency
   never lands on the task's path.
2. Producers never block. `progress`, `log` and `checkpoint` store a value or append to a bounded
   deque and, at most once per consumer round, wake the loop with `call_soon_threadsafe`. A tight
   loop of progress calls therefore costs one attribute store and two flag checks per call.
3. Coalesced, rate-bounded events. The Redis writer flushes at most every `EVENT_INTERVAL`
   seconds on average (50 flushes/s), and at once after a quiet spell: up to `FLUSH_BURST`
   flushes may follow each other without waiting. Each flush carries the latest progress (if it
   changed), pending log lines, a due heartbeat and the latest checkpoint, in one pipeline.
   A value the reporter would skip only because it ran late (two calls before one flush) goes
   out too, within the same rate of progress events (`outbox`): a task reporting at most 50
   times a second has every update written despite scheduling jitter. Only a task reporting
   faster has intermediate values skipped; the newest value is never dropped.
4. Status patches at most once per `status_interval` (default 2.5 s), latest value wins, and always
   one final patch: the API server sees at most duration / interval + 2 patches per attempt.
5. Failures degrade, never propagate. Redis down: the writer backs off and retries, keeping the
   latest progress, the latest checkpoint, the newest log lines and every output chunk
   (`outbox`); status patching goes on. API server down: patches retry with backoff, newest
   value first.
6. Output chunks are numbered here, as the task emits them, under a lock with the checkpoint:
   a checkpoint records exactly the chunks emitted before it (`core.outputs`, choice 2). They
   go out in order, every one, with the next flush; a flush that leaves some behind wakes the
   loop again at once.

The final report, written when the task has ended, has its own module and choices
(`finalreport`); the sinks' interfaces and the counters are in `sinks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final

from longtask.core import events, outputs, resource
from longtask.runner import outbox, throttling
from longtask.runner.errors import StatusGone, StatusRejected
from longtask.runner.finalreport import FinalReport, Outcome
from longtask.runner.settings import Settings
from longtask.runner.sinks import CountedEvents, CountedStatus, EventSink, PatchSink, Stats

log = logging.getLogger(__name__)

EVENT_INTERVAL: Final = 0.02  # least seconds between two Redis flushes, on average (choice 3)
FLUSH_BURST: Final = 3  # flushes that may follow each other at once after a quiet spell
CHECKPOINT_READ_SECONDS: Final = 10.0  # how long the start waits for Redis to read a checkpoint

Progress = outbox.Progress


# The sinks' modules are imported only when a sink is made: redis and httpx are most of the
# runner's start-up time, and a task run without Redis or a LongTask needs neither.


def _redis_sink(settings: Settings) -> EventSink | None:
    if not (settings.redis_url and settings.uid):
        return None
    from longtask.runner.redissink import RedisSink

    return RedisSink(
        settings.redis_url,
        settings.uid,
        settings.attempt,
        events_maxlen=settings.events_maxlen,
        logs_maxlen=settings.logs_maxlen,
    )


def _status_sink(settings: Settings) -> PatchSink | None:
    if not (settings.namespace and settings.name):
        return None
    from longtask.runner.statussink import StatusSink

    return StatusSink(settings.namespace, settings.name, settings.uid)


class Reporter:
    """Reports one attempt. Producer methods are safe from any thread and never block."""

    def __init__(
        self,
        settings: Settings,
        *,
        redis_sink: Callable[[Settings], EventSink | None] = _redis_sink,
        status_sink: Callable[[Settings], PatchSink | None] = _status_sink,
        event_interval: float = EVENT_INTERVAL,
    ) -> None:
        self._settings = settings
        self._make_redis = redis_sink
        self._make_status = status_sink
        self._event_interval = event_interval
        self.stats = Stats()
        self._progress: throttling.Recent[Progress] = throttling.Recent(outbox.KEPT_BETWEEN + 1)
        self._checkpoint: throttling.Latest[outbox.Checkpoint] = throttling.Latest()
        # The output position of the next chunk and what guards it (choice 6).
        self._output_lock = threading.Lock()
        self._position = outputs.Position()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="longtask-reporter")
        self._thread.daemon = True
        # Per-consumer "a wake-up is already scheduled" flags (choice 2). A disabled consumer
        # keeps its flag set so that producers never wake the loop on its behalf.
        self._redis_woken = True
        self._status_woken = True
        self._redis: EventSink | None = None
        self._status: PatchSink | None = None
        self._redis_wake: asyncio.Event | None = None
        self._status_wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._heartbeat: asyncio.Task[None] | None = None
        self._status_cursor = throttling.Cursor(self._progress)
        self._outbox = outbox.Outbox(
            settings.attempt,
            self._progress,
            self._checkpoint,
            settings.log_line_max_chars,
            keep_between=throttling.Throttle(event_interval, burst=FLUSH_BURST),
        )
        self._status_gone = False
        self._closing = False

    # -- producers (any thread, never block) --------------------------------------------------

    @property
    def latest(self) -> Progress | None:
        """The latest reported progress and message."""
        return self._progress.value

    def progress(self, percent: float, message: str) -> None:
        self._progress.put((percent, message))
        if not (self._redis_woken and self._status_woken):
            self._wake()

    def log(self, line: str, cut: int | None = None) -> None:
        """An output line (`cut`: the size in bytes of the longer line `line` starts)."""
        self._outbox.add_log(line, cut)
        if not self._redis_woken:
            self._wake()

    def output(self, chunk: Any, is_json: bool = False) -> int:
        """Queues the task's next output chunk; returns its `seq`. Raises
        `outputs.OutputLimitError` past a limit (nothing is queued then)."""
        size = outputs.chunk_size(chunk, is_json)
        with self._output_lock:
            at = self._position
            self._settings.output_limits.check(at, size)
            self._position = outputs.Position(at.seq + 1, at.bytes + size)
            event = events.output(self._settings.attempt, at.seq, chunk, is_json=is_json)
            if self._settings.reports_redis:
                self._outbox.add_output((event, self._position))
        if not self._redis_woken:
            self._wake()
        return at.seq

    @property
    def output_position(self) -> outputs.Position:
        """Where the task's output stands: the next chunk's `seq` and the bytes before it."""
        return self._position

    def checkpoint(self, encoded: str) -> None:
        """Stores the task's state (JSON text) with the output position it covers."""
        with self._output_lock:
            at = self._position
            self._checkpoint.put((outputs.encode_checkpoint(encoded, at), at.seq))
        if not self._redis_woken:
            self._wake()

    def _wake(self) -> None:
        self._redis_woken = True
        self._status_woken = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the attempt is over
            self._loop.call_soon_threadsafe(self._on_wake)

    def _on_wake(self) -> None:
        if self._redis_wake is not None:
            self._redis_wake.set()
        if self._status_wake is not None:
            self._status_wake.set()

    # -- lifecycle (the main thread) ----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._call(self._open(), timeout=10.0)

    def resume(self, timeout: float = CHECKPOINT_READ_SECONDS) -> str | None:
        """Where this attempt starts: returns the previous attempts' last checkpoint (the task's
        state as JSON) or None, and sets the output position to the one it records (0 without
        one). When earlier attempts' output got further, queues the `retract` event that
        withdraws the rest (`core.outputs`, choice 3). Waits at most `timeout` for Redis."""
        try:
            stored, head = self._call(self._read_resume(timeout), timeout=timeout + 1.0)
        except TimeoutError:
            stored, head = None, None
        state, at = None, outputs.Position()
        if stored is not None:
            try:
                state, at = outputs.decode_checkpoint(stored)
            except ValueError:
                log.warning("the stored checkpoint is not JSON; starting without it")
        reached = outputs.Position()
        if head is not None:
            try:
                reached = outputs.Position.from_json(json.loads(head))
            except ValueError:
                log.warning("the stored output head is not JSON; ignoring it")
        with self._output_lock:
            self._position = at
            if reached.seq > at.seq and self._settings.reports_redis:
                count = reached.seq - at.seq
                event = events.retract(
                    self._settings.attempt, at.seq, count, resumed=stored is not None
                )
                self._outbox.add_output((event, at))
        return state

    def finish(self, outcome: Outcome, timeout: float) -> Stats:
        """Writes the final report (waits at most about `timeout`) and stops the reporter."""
        try:
            self._call(self._finish(outcome, timeout), timeout=timeout + 2.0)
        except TimeoutError:
            log.warning("the final report did not finish within %.0f s", timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            self._loop.close()
        self.stats.logs_dropped = self._outbox.logs_dropped
        return self.stats

    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- the loop -----------------------------------------------------------------------------

    async def _open(self) -> None:
        redis, status = self._make_redis(self._settings), self._make_status(self._settings)
        if redis is not None:
            self._redis = CountedEvents(redis, self._outbox, self.stats)
        if status is not None:
            self._status = CountedStatus(status, self.stats)
        self._redis_wake = asyncio.Event()
        self._status_wake = asyncio.Event()
        if self._redis is not None:
            self._redis_woken = False
            self._tasks.append(asyncio.create_task(self._redis_loop(self._redis)))
            self._heartbeat = asyncio.create_task(self._heartbeat_loop())
        if self._status is not None:
            self._status_woken = False
            self._tasks.append(asyncio.create_task(self._status_loop(self._status)))

    async def _read_resume(self, budget: float) -> tuple[str | None, str | None]:
        if self._redis is None:
            return None, None
        deadline = time.monotonic() + budget
        backoff = throttling.Backoff()
        while True:
            try:
                return await self._redis.read_resume()
            except Exception as exc:
                delay = backoff.next()
                if time.monotonic() + delay > deadline:
                    log.warning("no checkpoint read, Redis unavailable: %s", exc)
                    return None, None
                await asyncio.sleep(delay)

    async def _heartbeat_loop(self) -> None:
        assert self._redis_wake is not None
        while not self._closing:
            self._outbox.heartbeat_due()
            self._redis_wake.set()
            await asyncio.sleep(self._settings.heartbeat_interval)

    async def _redis_loop(self, sink: EventSink) -> None:
        assert self._redis_wake is not None
        throttle = throttling.Throttle(self._event_interval, burst=FLUSH_BURST)
        backoff = throttling.Backoff(initial=0.2, maximum=10.0)
        while True:
            await self._redis_wake.wait()
            self._redis_wake.clear()
            await asyncio.sleep(throttle.delay())
            if self._closing:
                return
            throttle.mark()
            self._redis_woken = False  # before reading, so no later value is missed
            self._outbox.collect()
            batch = self._outbox.batch()
            if not batch:
                continue
            try:
                await sink.write(batch)  # counted, and the outbox emptied (`sinks.CountedEvents`)
            except Exception:
                if self._closing:
                    return
                await asyncio.sleep(backoff.next())
                self._redis_wake.set()
                continue
            backoff.reset()
            if self._outbox.has_more():
                self._redis_wake.set()  # more than one flush carries, or new since (choice 6)

    async def _status_loop(self, sink: PatchSink) -> None:
        assert self._status_wake is not None
        throttle = throttling.Throttle(self._settings.status_interval)
        while not self._closing:
            await self._status_wake.wait()
            self._status_wake.clear()
            if self._closing:
                return
            await asyncio.sleep(throttle.delay())
            self._status_woken = False
            value = self._status_cursor.take()
            if value is None:
                continue
            backoff = throttling.Backoff(initial=1.0, maximum=30.0)
            while True:
                throttle.mark()
                try:
                    await sink.patch(resource.Status(progress=value[0], message=value[1]))
                except StatusGone as exc:
                    log.warning("status patches stop: %s", exc)
                    self._status_gone = True
                    self._status_woken = True  # producers need not wake this loop again
                    return
                except StatusRejected as exc:
                    log.warning("%s", exc)
                    break
                except Exception as exc:  # counted by `sinks.CountedStatus`
                    log.warning("status patch failed, retrying: %s", exc)
                    await asyncio.sleep(max(backoff.next(), throttle.delay()))
                    if self._closing:
                        return
                    value = self._status_cursor.take() or value
                    continue
                break

    async def _finish(self, outcome: Outcome, budget: float) -> None:
        # One deadline for the whole report: the caller waits only `budget` (+2 s) for it.
        deadline = time.monotonic() + budget
        await self._stop_loops(budget / 2)
        report = FinalReport(
            self._settings.attempt, outcome, self._progress, self._outbox, deadline
        )
        await report.write(self._redis, None if self._status_gone else self._status)
        for sink in (self._redis, self._status):
            if sink is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(sink.close(), 2.0)

    async def _stop_loops(self, budget: float) -> None:
        """Lets the loops finish what they are writing, then stops them.

        Why not just cancel: a write cancelled half-way may be swallowed by a client library
        (the loop then never ends) and leaves its connection in an unknown state.
        """
        self._closing = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()  # it only sleeps between two flags
        for wake in (self._redis_wake, self._status_wake):
            if wake is not None:
                wake.set()
        if not self._tasks:
            return
        _, running = await asyncio.wait(self._tasks, timeout=budget)
        for task in running:
            task.cancel()
