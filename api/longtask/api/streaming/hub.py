"""One Redis reader per gateway process, fanning stream entries out to every client.

Design choices (later code points back to them):
1. One task reads every followed stream with a single blocking `XREAD` (one call takes many
   streams), so Redis sees the same commands for 1 or 1,000 clients of a task. The reader has
   its own small connection pool whose socket timeout exceeds the block time: redis-py 8's
   async pool raises `MaxConnectionsError` instead of waiting, and a socket timeout shorter
   than the block would cut every idle read.
2. Each client has a bounded queue. The reader never waits for a client: a full queue marks
   the client overflowed and the client is dropped (it resumes by Last-Event-ID), so no event
   is ever skipped silently and one slow client cannot hold the others back. Progress is
   conflated per client: beyond `PROGRESS_KEPT` progress entries of one stream still queued
   for a client, a newer one replaces the oldest (the newest goes at the end of the queue, so
   the ids a client receives only grow). A client that keeps up, or lags a moment (a busy
   process, a descheduled reader), gets every update; one that falls behind gets the newest,
   and its queue holds at most `PROGRESS_KEPT` progress entries per stream. No other entry,
   signal or watch event is ever conflated.
3. A new stream starts at its current tail; a subscriber reads what it missed itself (paced by
   its own sends) unless the stream's recent entries are still in the hub's ring buffer.
   Registration comes before that read, so nothing falls between them; duplicates are
   filtered by id on the subscriber's side.
4. When Redis fails, every subscriber gets `Signal.DOWN` (and follows the LongTask instead),
   and `Signal.UP` once a read succeeds again. Through Sentinel, a read that succeeds on another
   master than before is a failover: subscribers get `Signal.FAILOVER` before `Signal.UP`, since
   the entries the old master had not yet passed to its replica are gone (asynchronous
   replication) and they must say so (a `gap`). An outage after which the hub cannot tell it
   is the same master (it had not learnt the master yet, or the Sentinels do not answer) counts
   as a failover: a needless `gap` costs a client a look, a missing one hides lost entries.
5. No pause between reads: an entry goes out as soon as Redis has it (one viewer sees it at
   once). Batching happens only under load, by itself: while clients' sends keep the process
   busy, the next read's entries queue up behind them and each client takes all of its pending
   entries (conflated, choice 2) in one write.
6. Trims the reader did not see: the runner writes with `MAXLEN ~`, so a reader that falls
   further behind than a stream keeps would go on from what remains as if nothing were
   missing. Such a hole always comes back as a full reply (`count` entries of that stream: all
   it keeps lies after the cursor, and it keeps more than `count`), so only a full reply is
   checked, with the stream's `XINFO STREAM`: when the first entry kept is after the cursor the
   read came from, and entries were trimmed, every subscriber gets a `Gap` before the entries,
   as a resume from a trimmed id does (`gaps`). A reader that keeps up pays nothing for it.
7. A client that keeps up costs no task switch per entry: while its task sleeps in
   `next_batch` with nothing queued, the fan-out hands the entry to the subscription's `direct`
   callback, which writes the client's frames to its socket at once when it can (the follow
   decides, see `follow`); otherwise the entry is queued as in choice 2. Nothing is written
   ahead of what the task still holds: it is asleep and its queue is empty.
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

from longtask.api.streaming import gaps, streamids
from longtask.api.streaming.streamids import rows as rows
from longtask.core import events
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

RING_SIZE: Final = 1000
PROGRESS_KEPT: Final = 4  # progress entries of one stream queued for a client (design choice 2)
_OUTAGE_ERRORS: Final = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


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


@dataclass(frozen=True, slots=True)
class Gap:
    """Entries of stream `key` after the reader's cursor were trimmed before it read them
    (design choice 6): `event` says between which ids."""

    key: str
    event: events.GapEvent


class Subscription:
    """One client's view of its streams: a bounded, conflating queue the hub fills (design
    choice 2)."""

    def __init__(self, maxsize: int, keep: int = PROGRESS_KEPT) -> None:
        self.keys: set[str] = set()
        self.maxsize = maxsize
        self.overflowed = False
        self.conflated = 0  # progress entries replaced by a newer one before they were taken
        self._keep = keep
        # Pending items by arrival number: a dict keeps insertion order and deletes in O(1).
        self._pending: dict[int, object] = {}
        # Stream key → arrival numbers of its progress entries still queued, oldest first.
        self._progress: dict[str, deque[int]] = {}
        self._arrivals = 0
        self._ready = asyncio.Event()
        # Design choice 7: while the client's task sleeps with nothing queued, an entry goes to
        # `direct` first (it writes the client's frames at once and says True, or leaves the
        # entry to the queue).
        self.direct: Callable[[Entry], bool] | None = None
        self.waiting = False

    def __len__(self) -> int:
        return len(self._pending)

    def offer(self, item: object, conflate: bool = False) -> None:
        """Queue an item without waiting; a full queue marks the client overflowed. With
        `conflate` (a progress entry), the oldest progress of its stream still queued goes
        when `keep` of them are."""
        if self.overflowed:
            return
        direct = self.direct
        idle = self.waiting and not self._pending and type(item) is Entry
        if idle and direct is not None and direct(item):  # type: ignore[arg-type]
            return
        queued = None
        if conflate and isinstance(item, Entry):
            queued = self._progress.setdefault(item.key, deque())
        if queued is not None and len(queued) >= self._keep:
            del self._pending[queued.popleft()]
            self.conflated += 1
        elif len(self._pending) >= self.maxsize:
            self.overflowed = True
            return
        if queued is not None:
            queued.append(self._arrivals)
        self._pending[self._arrivals] = item
        self._arrivals += 1
        self._ready.set()

    async def next_batch(self, wait: float | None = None) -> list[object]:
        """Every pending item (at least one), conflated: one write for all of them;
        TimeoutError after `wait`."""
        if not self._pending:
            self.waiting = True
            try:
                if wait is None:
                    await self._ready.wait()  # the common case, without a timeout's cost
                else:
                    async with asyncio.timeout(wait):
                        await self._ready.wait()
            finally:
                self.waiting = False
        batch = list(self._pending.values())
        self._pending.clear()
        self._progress.clear()
        self._ready.clear()
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
        conflate: Callable[[Entry], bool] | None = None,
        master: Callable[[], Awaitable[tuple[str, int] | None]] | None = None,
    ) -> None:
        """`conflate`: which entries a newer one of the same stream may replace in a client's
        queue (progress, design choice 2); none without it. `master`: where the reader's
        master is now (through Sentinel), to tell a failover from an outage (design choice 4);
        None without Sentinel."""
        self._reader = reader  # the XREAD connection (design choice 1)
        self._client = client  # short commands (tail lookups)
        self._block_ms = block_ms
        self._count = count
        self._queue_size = queue_size
        self._retry_seconds = retry_seconds
        self._conflate = conflate
        self._streams: dict[str, _Stream] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.available = True
        self.reads = 0  # XREAD calls issued, for tests and debugging
        self.failovers = 0  # masters changed under the reader (Sentinel)
        self.gaps = 0  # trims the reader found it had not read (design choice 6)
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

    async def _look(self) -> tuple[str, int] | None:
        """Where the Sentinels say the master is (None: they cannot say now)."""
        assert self._where is not None
        try:
            return await self._where()
        except (RedisError, OSError):
            return None

    async def _failed_over(self) -> bool:
        """After an outage: whether the master may have changed since the last look (always
        False without Sentinel; see design choice 4)."""
        if self._where is None:
            return False
        before, self._master = self._master, await self._look()
        if before is not None and before == self._master:
            return False
        self.failovers += 1
        log.warning(
            "Redis answers again, master %s (before: %s); recent entries may be lost",
            self._master,
            before,
        )
        return True

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
                pairs = [
                    (str(k), rows(e))
                    for k, e in (reply.items() if isinstance(reply, dict) else reply or [])
                ]
                infos = await self._infos([k for k, found in pairs if len(found) >= self._count])
            except _OUTAGE_ERRORS as exc:
                log.debug("XREAD failed: %s", type(exc).__name__)
                self._set_available(False)
                await asyncio.sleep(self._retry_seconds)
                continue
            except RedisError as exc:
                log.warning("XREAD refused: %s", exc)
                await asyncio.sleep(self._retry_seconds)
                continue
            if not self.available:
                self._set_available(True, await self._failed_over())
            elif self._where is not None and self._master is None:
                self._master = await self._look()  # what a failover is told from
            for key, found in pairs:
                self._fan_out(key, found, infos.get(key), str(cursors.get(key, found[0][0])))

    async def _infos(self, keys: list[str]) -> dict[str, Any]:
        """`XINFO STREAM` of the streams whose read came back full (design choice 6)."""
        if not keys:
            return {}
        pipe = self._reader.pipeline(transaction=False)
        for key in keys:
            pipe.xinfo_stream(key)
        return dict(zip(keys, await pipe.execute(raise_on_error=False), strict=True))

    def _fan_out(
        self, key: str, found: list[tuple[str, dict[str, Any]]], info: Any, read_after: str
    ) -> None:
        stream = self._streams.get(key)
        if stream is None or not found:
            return  # nobody follows it any more
        gap = gaps.gap_of(info, read_after) if info is not None else None
        if gap is not None and streamids.is_after(found[0][0], read_after):
            self.gaps += 1
            log.warning("%s was trimmed past the reader's cursor %s", key, read_after)
            # The ring must not serve a late subscriber across the hole.
            stream.ring.clear()
            stream.ring_base = gap["before"] = found[0][0]  # where every subscriber goes on
            for sub in stream.subscribers:
                sub.offer(Gap(key, gap))
        for entry_id, fields in found:
            if not streamids.is_after(entry_id, stream.cursor):
                continue
            entry = Entry(key, entry_id, fields)
            if len(stream.ring) == stream.ring.maxlen:
                stream.ring_base = stream.ring[0].id
            stream.ring.append(entry)
            stream.cursor = entry.id
            conflate = self._conflate is not None and self._conflate(entry)
            for sub in stream.subscribers:
                sub.offer(entry, conflate)
