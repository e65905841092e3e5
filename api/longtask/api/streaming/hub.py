"""One Redis reader per gateway process, fanning stream entries out to every client.

Design choices (later code points back to them):
1. One task reads every followed stream with a single blocking `XREAD` (one call takes many
   streams), so Redis sees the same commands for 1 or 1,000 clients of a task. The reader has
   its own small connection pool whose socket timeout exceeds the block time: redis-py 8's
   async pool raises `MaxConnectionsError` instead of waiting, and a socket timeout shorter
   than the block would cut every idle read.
2. Each client has a bounded queue. The reader never waits for a client: a full queue marks
   the client overflowed and the client is dropped (it resumes by Last-Event-ID), so no event
   is ever skipped silently and one slow client cannot hold the others back.
3. A new stream starts at its current tail; a subscriber reads what it missed itself (paced by
   its own sends) unless the stream's recent entries are still in the hub's ring buffer.
   Registration comes before that read, so nothing falls between them; duplicates are
   filtered by id on the subscriber's side.
4. When Redis fails, every subscriber gets `Signal.DOWN` (and follows the LongTask instead),
   and `Signal.UP` once a read succeeds again. Through Sentinel, a read that succeeds on another
   master than before is a failover: subscribers get `Signal.FAILOVER` before `Signal.UP`, since
   the entries the old master had not yet passed to its replica are gone (asynchronous
   replication) and they must say so (a `gap`).
5. After a read that returned entries the reader lingers a few milliseconds before the next
   one, so that entries written in quick succession arrive together: every client then gets
   them in one write (the per-write cost dominates a gateway with many clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from longtask.api.streaming import streamids
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

RING_SIZE: Final = 1000
_OUTAGE_ERRORS: Final = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


def rows(reply: Any) -> list[tuple[str, dict[str, Any]]]:
    """(id, fields) pairs of an XRANGE/XREVRANGE reply (a deleted entry has no fields)."""
    return [(str(entry_id), dict(fields or {})) for entry_id, fields in reply or []]


@dataclass(frozen=True, slots=True)
class Entry:
    """A stream entry: its id and fields, and a memo that consumers fill once for all
    clients (the same Entry object goes to every subscriber)."""

    key: str
    id: str
    fields: dict[str, Any]
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The id as (ms, seq), parsed once: every client compares it with its resume point.
    order: tuple[int, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", streamids.parse(self.id))


class Signal(enum.Enum):
    DOWN = "down"  # Redis became unreachable
    FAILOVER = "failover"  # it answers again from another master: recent entries may be lost
    UP = "up"  # Redis answers again


class Subscription:
    """One client's view of one stream: a bounded queue the hub fills (design choice 2)."""

    def __init__(self, maxsize: int) -> None:
        self.keys: set[str] = set()
        self.queue: asyncio.Queue[object] = asyncio.Queue(maxsize)
        self.overflowed = False

    def offer(self, item: object) -> None:
        """Queue an item without waiting; a full queue marks the client overflowed."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next_batch(self, wait: float | None = None) -> list[object]:
        """Every pending item (at least one): one write for all of them; TimeoutError after
        `wait`."""
        if wait is None:
            first = await self.queue.get()  # the common case, without a timeout's cost
        else:
            async with asyncio.timeout(wait):
                first = await self.queue.get()
        batch = [first]
        while True:
            try:
                batch.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                return batch


@dataclass
class _Stream:
    cursor: str  # id of the last entry fanned out (or the tail when the stream was added)
    ring_base: str  # every entry after this id, up to cursor, is in the ring
    subscribers: set[Subscription] = field(default_factory=set)
    ring: deque[Entry] = field(default_factory=lambda: deque(maxlen=RING_SIZE))


class StreamHub:
    """Follows the streams clients subscribe to and fans their entries out."""

    def __init__(
        self,
        reader: Redis,
        client: Redis,
        *,
        block_ms: int = 1000,
        count: int = 1000,
        queue_size: int = 2000,
        retry_seconds: float = 1.0,
        linger_seconds: float = 0.0,
        master: Callable[[], Awaitable[tuple[str, int] | None]] | None = None,
    ) -> None:
        """`master`: where the reader's master is now (through Sentinel), to tell a failover
        from an outage (design choice 4); None without Sentinel."""
        self._reader = reader  # the XREAD connection (design choice 1)
        self._client = client  # short commands (tail lookups)
        self._block_ms = block_ms
        self._count = count
        self._queue_size = queue_size
        self._retry_seconds = retry_seconds
        self._linger_seconds = linger_seconds
        self._streams: dict[str, _Stream] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.available = True
        self.reads = 0  # XREAD calls issued, for tests and debugging
        self.failovers = 0  # masters changed under the reader (Sentinel)
        self._where = master
        self._master: tuple[str, int] | None = None

    @property
    def streams(self) -> int:
        return len(self._streams)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="longtask-stream-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def subscribe(
        self, key: str, after: str, sub: Subscription | None = None
    ) -> tuple[Subscription, list[Entry] | None]:
        """Register a client reading `key` after id `after` (into `sub`, to follow several
        streams with one queue; entries carry their key).

        Returns the subscription and the entries after `after` the hub holds in memory, or None
        when the caller must read (after, +] from Redis itself (design choice 3).
        """
        if key not in self._streams:
            tail = await self._tail(key)
            if key not in self._streams:  # another subscriber may have added it meanwhile
                start = tail if tail is not None else after
                self._streams[key] = _Stream(cursor=start, ring_base=start)
                self._wake.set()
        stream = self._streams[key]
        if sub is None:
            sub = Subscription(self._queue_size)
        sub.keys.add(key)
        stream.subscribers.add(sub)
        if not streamids.is_after(stream.cursor, after):
            return sub, []
        if not streamids.is_after(stream.ring_base, after):
            return sub, [e for e in stream.ring if streamids.is_after(e.id, after)]
        return sub, None

    def unsubscribe(self, sub: Subscription) -> None:
        for key in sub.keys:
            stream = self._streams.get(key)
            if stream is None:
                continue
            stream.subscribers.discard(sub)
            if not stream.subscribers:
                del self._streams[key]
        sub.keys.clear()

    def report_failure(self) -> None:
        """A subscriber's own Redis call failed: tell everyone until a read succeeds."""
        self._set_available(False)

    async def _tail(self, key: str) -> str | None:
        try:
            last = rows(await self._client.xrevrange(key, count=1))
        except RedisError:
            self.report_failure()
            return None
        return last[0][0] if last else streamids.START

    def _set_available(self, available: bool, failover: bool = False) -> None:
        if available == self.available:
            return
        self.available = available
        log.warning("Redis is %s", "reachable again" if available else "unreachable")
        signals = [Signal.UP] if available else [Signal.DOWN]
        if failover:
            signals.insert(0, Signal.FAILOVER)
        subscribers = {sub for stream in self._streams.values() for sub in stream.subscribers}
        for sub in subscribers:
            for signal in signals:
                sub.offer(signal)

    async def _failed_over(self) -> bool:
        """Whether the master changed since the last look (always False without Sentinel)."""
        if self._where is None:
            return False
        try:
            master = await self._where()
        except (RedisError, OSError):
            return False  # the Sentinels cannot say now: the next look will
        changed = master != self._master and None not in (master, self._master)
        self._master = master
        if changed:
            self.failovers += 1
            log.warning("Redis failed over to %s:%s; recent entries may be lost", *master or ())
        return changed

    async def _run(self) -> None:
        while True:
            if not self._streams:
                self._wake.clear()
                await self._wake.wait()
                continue
            cursors: dict[Any, Any] = {key: s.cursor for key, s in self._streams.items()}
            try:
                self.reads += 1
                reply = await self._reader.xread(cursors, count=self._count, block=self._block_ms)
            except _OUTAGE_ERRORS as exc:
                log.debug("XREAD failed: %s", type(exc).__name__)
                self._set_available(False)
                await asyncio.sleep(self._retry_seconds)
                continue
            except RedisError as exc:
                log.warning("XREAD refused: %s", exc)
                await asyncio.sleep(self._retry_seconds)
                continue
            if not self.available or (self._where is not None and self._master is None):
                self._set_available(True, await self._failed_over())
            if reply:
                self._fan_out(reply)
                if self._linger_seconds:
                    await asyncio.sleep(self._linger_seconds)  # design choice 5

    def _fan_out(self, reply: Any) -> None:
        pairs = reply.items() if isinstance(reply, dict) else reply
        for key, entries in pairs:
            stream = self._streams.get(str(key))
            if stream is None:
                continue  # nobody follows it any more
            for entry_id, fields in rows(entries):
                if not streamids.is_after(entry_id, stream.cursor):
                    continue
                entry = Entry(str(key), entry_id, fields)
                if len(stream.ring) == stream.ring.maxlen:
                    stream.ring_base = stream.ring[0].id
                stream.ring.append(entry)
                stream.cursor = entry.id
                for sub in stream.subscribers:
                    sub.offer(entry)
