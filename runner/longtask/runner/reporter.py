"""The background reporter: takes what the task reports and writes it to Redis and the status.

Design choices (later code points back to them):

1. Own thread, own event loop. The reporter never shares a loop with the task, so a task that
   blocks its loop (or hogs a thread) does not stop heartbeats, and Redis or API-server latency
   never lands on the task's path.
2. Producers never block. `progress`, `log` and `checkpoint` store a value or append to a bounded
   deque and, at most once per consumer round, wake the loop with `call_soon_threadsafe`. A tight
   loop of progress calls therefore costs one attribute store and two flag checks per call.
3. Coalesced, rate-bounded events. The Redis writer flushes at most every `EVENT_INTERVAL`
   seconds (50 flushes/s): each flush carries the latest progress (if it changed), pending log
   lines, a due heartbeat and the latest checkpoint, in one pipeline. Intermediate progress
   values between two flushes are skipped; the newest value is never dropped.
4. Status patches at most once per `status_interval` (default 2 s), latest value wins, and always
   one final patch: the API server sees at most duration / interval + 2 patches per attempt.
5. Failures degrade, never propagate. Redis down: the writer backs off and retries, keeping the
   latest progress, the latest checkpoint and the newest log lines (`outbox`); status
   patching goes on. API server down: patches retry with backoff, newest value first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol

from longtask.core import events, resource
from longtask.runner import outbox, results, throttling
from longtask.runner.errors import StatusGone, StatusRejected
from longtask.runner.outbox import Batch
from longtask.runner.settings import Settings

log = logging.getLogger(__name__)

EVENT_INTERVAL: Final = 0.02  # least seconds between two Redis flushes (choice 3)
CHECKPOINT_READ_SECONDS: Final = 10.0  # how long the start waits for Redis to read a checkpoint

Progress = outbox.Progress


class EventSink(Protocol):
    async def write(self, batch: Batch) -> None: ...
    async def read_checkpoint(self) -> str | None: ...
    async def store_result(self, encoded: str) -> str: ...
    async def close(self) -> None: ...


class PatchSink(Protocol):
    async def patch(self, status: dict[str, Any]) -> None: ...
    async def close(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How the attempt ended, for the final report."""

    progress: float | None = None
    """Final progress; None keeps the last reported value."""
    message: str | None = None
    """Final message; None keeps the last reported message."""
    result: str | None = None
    """The result as compact JSON (see `results.encode`), or None."""


@dataclasses.dataclass
class Stats:
    """Counters of one attempt's reporting, logged at the end (tests and benchmarks read them)."""

    status_patches: int = 0
    status_failures: int = 0
    redis_flushes: int = 0
    redis_failures: int = 0
    events_written: int = 0
    logs_dropped: int = 0


# The sinks' modules are imported only when a sink is made: redis and httpx are most of the
# runner's start-up time, and a task run without Redis or a LongTask needs neither.


def _redis_sink(settings: Settings) -> EventSink | None:
    if not (settings.redis_url and settings.uid):
        return None
    from longtask.runner.redissink import RedisSink

    return RedisSink(settings.redis_url, settings.uid, settings.attempt)


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
        self._progress: throttling.Latest[Progress] = throttling.Latest()
        self._checkpoint: throttling.Latest[str] = throttling.Latest()
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
        self._outbox = outbox.Outbox(settings.attempt, self._progress, self._checkpoint)
        self._redis_down = False
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

    def log(self, line: str) -> None:
        self._outbox.add_log(line)
        if not self._redis_woken:
            self._wake()

    def checkpoint(self, encoded: str) -> None:
        self._checkpoint.put(encoded)
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

    def load_checkpoint(self, timeout: float = CHECKPOINT_READ_SECONDS) -> str | None:
        """The previous attempts' last checkpoint (JSON), or None; waits at most `timeout`."""
        try:
            value: str | None = self._call(self._read_checkpoint(timeout), timeout=timeout + 1.0)
            return value
        except TimeoutError:
            return None

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
        self._redis = self._make_redis(self._settings)
        self._status = self._make_status(self._settings)
        self._redis_wake = asyncio.Event()
        self._status_wake = asyncio.Event()
        if self._redis is not None:
            self._redis_woken = False
            self._tasks.append(asyncio.create_task(self._redis_loop(self._redis)))
            self._heartbeat = asyncio.create_task(self._heartbeat_loop())
        if self._status is not None:
            self._status_woken = False
            self._tasks.append(asyncio.create_task(self._status_loop(self._status)))

    async def _read_checkpoint(self, budget: float) -> str | None:
        if self._redis is None:
            return None
        deadline = time.monotonic() + budget
        backoff = throttling.Backoff()
        while True:
            try:
                return await self._redis.read_checkpoint()
            except Exception as exc:
                delay = backoff.next()
                if time.monotonic() + delay > deadline:
                    log.warning("no checkpoint read, Redis unavailable: %s", exc)
                    return None
                await asyncio.sleep(delay)

    async def _heartbeat_loop(self) -> None:
        assert self._redis_wake is not None
        while not self._closing:
            self._outbox.heartbeat_due()
            self._redis_wake.set()
            await asyncio.sleep(self._settings.heartbeat_interval)

    async def _redis_loop(self, sink: EventSink) -> None:
        assert self._redis_wake is not None
        throttle = throttling.Throttle(self._event_interval)
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
                await sink.write(batch)
            except Exception as exc:
                self._note_redis_failure(exc)
                if self._closing:
                    return
                await asyncio.sleep(backoff.next())
                self._redis_wake.set()
                continue
            backoff.reset()
            self._flushed(batch)
            if self._outbox.has_more_logs():
                self._redis_wake.set()  # more log lines than one flush carries

    def _flushed(self, batch: Batch) -> None:
        self._outbox.flushed(batch)
        self.stats.redis_flushes += 1
        self.stats.events_written += len(batch.events)
        if self._redis_down:
            self._redis_down = False
            log.warning("Redis is reachable again; reporting resumes")

    def _note_redis_failure(self, exc: BaseException) -> None:
        self.stats.redis_failures += 1
        if not self._redis_down:
            self._redis_down = True
            log.warning("Redis unavailable, retrying with backoff: %s", exc)

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
                    await sink.patch({"progress": value[0], "message": value[1]})
                except StatusGone as exc:
                    log.warning("status patches stop: %s", exc)
                    self._status_gone = True
                    self._status_woken = True  # producers need not wake this loop again
                    return
                except StatusRejected as exc:
                    log.warning("%s", exc)
                    break
                except Exception as exc:
                    self.stats.status_failures += 1
                    log.warning("status patch failed, retrying: %s", exc)
                    await asyncio.sleep(max(backoff.next(), throttle.delay()))
                    if self._closing:
                        return
                    value = self._status_cursor.take() or value
                    continue
                self.stats.status_patches += 1
                break

    async def _finish(self, outcome: Outcome, budget: float) -> None:
        # One deadline for the whole report: the caller waits only `budget` (+2 s) for it.
        deadline = time.monotonic() + budget
        await self._stop_loops(budget / 2)
        latest = self._progress.value
        percent = outcome.progress if outcome.progress is not None else (latest or (0.0, ""))[0]
        message = outcome.message if outcome.message is not None else (latest or (0.0, ""))[1]
        if outcome.progress is not None or outcome.message is not None:
            self._progress.put((percent, message[: resource.MESSAGE_MAX_CHARS]))
        result_ref: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        inline = outcome.result is not None and results.fits_status(outcome.result)
        if outcome.result is None or inline:
            result_ref.set_result(None)
        await asyncio.gather(
            self._final_redis(outcome, inline, result_ref, deadline),
            self._final_status(outcome, inline, result_ref, deadline, skip=self._status_gone),
        )
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

    async def _final_redis(
        self,
        outcome: Outcome,
        inline: bool,
        result_ref: asyncio.Future[str | None],
        deadline: float,
    ) -> None:
        sink = self._redis
        if sink is None:
            if not result_ref.done():
                result_ref.set_result(None)
            return
        backoff = throttling.Backoff(initial=0.2, maximum=2.0)
        while not result_ref.done():
            try:
                assert outcome.result is not None
                result_ref.set_result(await sink.store_result(outcome.result))
            except Exception as exc:
                if not await self._retry_until(deadline, backoff, exc, "store the result"):
                    result_ref.set_result(None)
        extra: list[dict[str, Any]] = []
        if outcome.result is not None:
            attempt = self._settings.attempt
            if inline:
                value = json.loads(outcome.result)
                extra.append(events.make(events.EventType.RESULT, attempt, result=value))
            elif result_ref.result() is not None:
                ref = result_ref.result()
                extra.append(events.make(events.EventType.RESULT, attempt, resultRef=ref))
        self._outbox.collect()
        batch = self._outbox.batch(final=True, extra=extra)
        while batch:
            try:
                await sink.write(batch)
                self._flushed(batch)
                return
            except Exception as exc:
                self._note_redis_failure(exc)
                if not await self._retry_until(deadline, backoff, exc, "write the final events"):
                    return

    async def _final_status(
        self,
        outcome: Outcome,
        inline: bool,
        result_ref: asyncio.Future[str | None],
        deadline: float,
        skip: bool,
    ) -> None:
        sink = self._status
        if sink is None or skip:
            return
        latest = self._progress.value
        status: dict[str, Any] = {}
        if latest is not None:  # a task that never reported leaves the operator's values
            status = {"progress": latest[0], "message": latest[1]}
        else:
            latest = (0.0, "")
        if outcome.result is not None:
            if inline:
                status["result"] = json.loads(outcome.result)
            else:
                ref = await result_ref
                if ref is None:
                    status["message"] = f"{latest[1]} (result lost: Redis unavailable)"[
                        : resource.MESSAGE_MAX_CHARS
                    ]
                else:
                    status["resultRef"] = ref
        if not status:
            return
        backoff = throttling.Backoff(initial=0.5, maximum=5.0)
        while True:
            try:
                await sink.patch(status)
                self.stats.status_patches += 1
                return
            except (StatusGone, StatusRejected) as exc:
                log.warning("final status patch refused: %s", exc)
                return
            except Exception as exc:
                self.stats.status_failures += 1
                if not await self._retry_until(deadline, backoff, exc, "patch the final status"):
                    return

    async def _retry_until(
        self, deadline: float, backoff: throttling.Backoff, exc: BaseException, what: str
    ) -> bool:
        delay = backoff.next()
        if time.monotonic() + delay > deadline:
            log.error("could not %s before the deadline: %s", what, exc)
            return False
        await asyncio.sleep(delay)
        return True
