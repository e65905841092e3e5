"""Where the reporter writes: the Redis and status sinks' interfaces, and the counters of what
they took.

The reporter wraps each sink in a counting one (`CountedEvents`, `CountedStatus`), so that the
live loops and the final report count writes, failures and outages in one place.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Protocol

from longtask.core import resource
from longtask.runner.errors import StatusGone, StatusRejected
from longtask.runner.outbox import Batch, Outbox

log = logging.getLogger("longtask.runner.reporter")


class EventSink(Protocol):
    async def write(self, batch: Batch) -> None: ...
    async def read_resume(self) -> tuple[str | None, str | None]: ...
    async def store_result(self, encoded: str) -> str: ...
    async def close(self) -> None: ...


class PatchSink(Protocol):
    async def patch(self, status: resource.Status) -> None: ...
    async def close(self) -> None: ...


@dataclasses.dataclass
class Stats:
    """Counters of one attempt's reporting, logged at the end (tests and benchmarks read them)."""

    status_patches: int = 0
    status_failures: int = 0
    redis_flushes: int = 0
    redis_failures: int = 0
    events_written: int = 0
    logs_dropped: int = 0


class CountedEvents:
    """An EventSink whose writes empty the outbox, count, and log when Redis goes and comes back."""

    def __init__(self, sink: EventSink, outbox: Outbox, stats: Stats) -> None:
        self._sink = sink
        self._outbox = outbox
        self._stats = stats
        self._down = False

    async def write(self, batch: Batch) -> None:
        try:
            await self._sink.write(batch)
        except Exception as exc:
            self._stats.redis_failures += 1
            if not self._down:
                self._down = True
                log.warning("Redis unavailable, retrying with backoff: %s", exc)
            raise
        self._outbox.flushed(batch)
        self._stats.redis_flushes += 1
        self._stats.events_written += len(batch.events)
        if self._down:
            self._down = False
            log.warning("Redis is reachable again; reporting resumes")

    async def read_resume(self) -> tuple[str | None, str | None]:
        return await self._sink.read_resume()

    async def store_result(self, encoded: str) -> str:
        return await self._sink.store_result(encoded)

    async def close(self) -> None:
        await self._sink.close()


class CountedStatus:
    """A PatchSink that counts patches and failed attempts (a refused patch is neither)."""

    def __init__(self, sink: PatchSink, stats: Stats) -> None:
        self._sink = sink
        self._stats = stats

    async def patch(self, status: resource.Status) -> None:
        try:
            await self._sink.patch(status)
        except (StatusGone, StatusRejected):
            raise
        except Exception:
            self._stats.status_failures += 1
            raise
        self._stats.status_patches += 1

    async def close(self) -> None:
        await self._sink.close()
