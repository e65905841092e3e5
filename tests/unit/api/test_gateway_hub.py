"""The stream hub's bookkeeping, against an in-memory fake of the few Redis calls it makes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from longtask.api.streaming import streamids
from longtask.api.streaming.hub import Entry, Gap, Signal, StreamHub, Subscription
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError


class FakeRedis:
    """XADD/XREAD/XREVRANGE/XINFO STREAM (several in a pipeline) over in-memory streams;
    `trim` drops a stream's oldest entries as MAXLEN does; `down` makes every call fail."""

    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.added: dict[str, int] = {}
        self.changed = asyncio.Condition()
        self.xread_calls = 0
        self.down = False
        self._seq = 0

    async def xadd(self, key: str, fields: dict[str, str]) -> str:
        self._seq += 1
        entry_id = f"{self._seq}-0"
        self.streams.setdefault(key, []).append((entry_id, fields))
        self.added[key] = self.added.get(key, 0) + 1
        async with self.changed:
            self.changed.notify_all()
        return entry_id

    def _after(self, key: str, after: str) -> list[tuple[str, dict[str, str]]]:
        return [e for e in self.streams.get(key, []) if streamids.is_after(e[0], after)]

    def trim(self, key: str, keep: int) -> None:
        self.streams[key] = self.streams[key][-keep:]

    def ready(self, streams: dict[str, str], count: int) -> list[Any]:
        return [[k, self._after(k, i)[:count]] for k, i in streams.items() if self._after(k, i)]

    def info(self, key: str) -> Any:
        kept = self.streams.get(key)
        if kept is None:
            return ResponseError("no such key")
        first = kept[0] if kept else None
        return {"length": len(kept), "entries-added": self.added[key], "first-entry": first}

    def pipeline(self, transaction: bool) -> FakePipeline:
        return FakePipeline(self)

    async def xread(self, streams: dict[str, str], count: int, block: int) -> Any:
        self.xread_calls += 1
        if self.down:
            raise RedisConnectionError("down")

        def ready() -> list[Any]:
            return self.ready(streams, count)

        if not ready():
            async with self.changed:
                try:
                    await asyncio.wait_for(self.changed.wait_for(ready), block / 1000)
                except TimeoutError:
                    return []
        return ready()

    async def xrevrange(self, key: str, count: int) -> Any:
        if self.down:
            raise RedisConnectionError("down")
        return list(reversed(self.streams.get(key, [])))[:count]


class FakePipeline:
    """Several XINFO STREAM in one round trip."""

    def __init__(self, fake: FakeRedis) -> None:
        self.fake = fake
        self.keys: list[str] = []

    def xinfo_stream(self, key: str) -> None:
        self.keys.append(key)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        if self.fake.down:
            raise RedisConnectionError("down")
        return [self.fake.info(key) for key in self.keys]


async def drain(sub: Subscription, n: int) -> list[object]:
    items: list[object] = []
    async with asyncio.timeout(5):
        while len(items) < n:
            items += await sub.next_batch()
    return items


@pytest.fixture
async def hub_and_redis() -> Any:
    fake = FakeRedis()
    hub = StreamHub(fake, fake, block_ms=50, queue_size=50, retry_seconds=0.01)  # type: ignore[arg-type]
    hub.start()
    yield hub, fake
    await hub.stop()


async def test_every_subscriber_gets_every_entry_from_shared_reads(hub_and_redis: Any) -> None:
    hub, fake = hub_and_redis
    subs = [(await hub.subscribe("s", streamids.START))[0] for _ in range(20)]
    for i in range(10):
        await fake.xadd("s", {"n": str(i)})
    for sub in subs:
        items = await drain(sub, 10)
        assert [e.fields["n"] for e in items if isinstance(e, Entry)] == [str(i) for i in range(10)]
    # 10 entries to 20 clients: reads are per batch of entries, not per client.
    assert fake.xread_calls < 20 * 10


async def test_new_stream_starts_at_its_tail_and_caller_reads_the_rest(hub_and_redis: Any) -> None:
    hub, fake = hub_and_redis
    await fake.xadd("s", {"n": "old"})
    sub, cached = await hub.subscribe("s", streamids.START)
    assert cached is None  # the caller must read (0-0, tail] itself
    await fake.xadd("s", {"n": "new"})
    items = await drain(sub, 1)
    assert [e.fields["n"] for e in items if isinstance(e, Entry)] == ["new"]


async def test_late_subscriber_catches_up_from_the_ring(hub_and_redis: Any) -> None:
    hub, fake = hub_and_redis
    first, _ = await hub.subscribe("s", streamids.START)
    ids = [await fake.xadd("s", {"n": str(i)}) for i in range(5)]
    await drain(first, 5)
    _, cached = await hub.subscribe("s", ids[1])
    assert cached is not None
    assert [e.id for e in cached] == ids[2:]


async def test_full_queue_marks_only_that_client_overflowed(hub_and_redis: Any) -> None:
    hub, fake = hub_and_redis
    slow, _ = await hub.subscribe("s", streamids.START)
    fast, _ = await hub.subscribe("s", streamids.START)
    for i in range(60):  # queue_size is 50; `fast` keeps reading, `slow` never does
        await fake.xadd("s", {"n": str(i)})
        await drain(fast, 1)
    assert slow.overflowed
    assert not fast.overflowed


async def test_outage_signals_down_then_up(hub_and_redis: Any) -> None:
    hub, fake = hub_and_redis
    sub, _ = await hub.subscribe("s", streamids.START)
    fake.down = True
    assert await drain(sub, 1) == [Signal.DOWN]
    assert not hub.available
    fake.down = False
    assert await drain(sub, 1) == [Signal.UP]
    await fake.xadd("s", {"n": "after"})
    items = await drain(sub, 1)
    assert isinstance(items[0], Entry) and items[0].fields == {"n": "after"}


async def test_unsubscribe_forgets_the_stream(hub_and_redis: Any) -> None:
    hub, _ = hub_and_redis
    a, _ = await hub.subscribe("s", streamids.START)
    await hub.subscribe("t", streamids.START, a)
    assert hub.streams == 2
    hub.unsubscribe(a)
    assert hub.streams == 0


@contextlib.asynccontextmanager
async def hub_under_sentinel(
    master: Callable[[], Awaitable[tuple[str, int]]],
) -> AsyncIterator[tuple[StreamHub, FakeRedis, Subscription]]:
    """A hub that asks `master` where Redis is, with a subscriber that has read one entry."""
    fake = FakeRedis()
    hub = StreamHub(fake, fake, block_ms=50, retry_seconds=0.01, master=master)  # type: ignore[arg-type]
    hub.start()
    try:
        sub, _ = await hub.subscribe("s", streamids.START)
        await fake.xadd("s", {"n": "0"})
        await drain(sub, 1)
        yield hub, fake, sub
    finally:
        await hub.stop()


async def go_down(fake: FakeRedis, sub: Subscription) -> None:
    fake.down = True
    assert await drain(sub, 1) == [Signal.DOWN]


async def test_an_outage_that_ends_on_another_master_signals_a_failover_first() -> None:
    where = [("10.0.0.1", 6379)]

    async def master() -> tuple[str, int]:
        return where[0]

    async with hub_under_sentinel(master) as (hub, fake, sub):
        await go_down(fake, sub)
        fake.down = False  # the same master back (a restart): nothing said lost
        assert await drain(sub, 1) == [Signal.UP]
        await go_down(fake, sub)
        where[0] = ("10.0.0.2", 6379)  # the Sentinels promoted the replica
        fake.down = False
        assert await drain(sub, 2) == [Signal.FAILOVER, Signal.UP]
        assert hub.failovers == 1


@pytest.mark.parametrize("silent", ["before the outage", "after the outage"])
async def test_an_outage_whose_master_cannot_be_compared_counts_as_a_failover(
    silent: str,
) -> None:
    sentinels_answer = silent != "before the outage"

    async def master() -> tuple[str, int]:
        if not sentinels_answer:
            raise RedisConnectionError("no Sentinel answers")
        return ("10.0.0.1", 6379)  # the same address throughout

    async with hub_under_sentinel(master) as (hub, fake, sub):
        await go_down(fake, sub)
        sentinels_answer = silent != "after the outage"
        fake.down = False
        # Without a master to compare with, the hub cannot know nothing was lost.
        assert await drain(sub, 2) == [Signal.FAILOVER, Signal.UP]
        assert hub.failovers == 1


async def test_a_trim_behind_the_reader_becomes_a_gap_before_the_entries_after_it() -> None:
    fake = FakeRedis()
    hub = StreamHub(fake, fake, block_ms=50, count=10, queue_size=100, retry_seconds=0.01)  # type: ignore[arg-type]
    sub, _ = await hub.subscribe("s", streamids.START)
    hub.start()
    try:
        ids = [await fake.xadd("s", {"n": str(i)}) for i in range(10)]
        assert [e.id for e in await drain(sub, 10) if isinstance(e, Entry)] == ids
        # The reader stalls while 30 more entries arrive and the stream keeps only the last
        # 15 of all 40: its next read comes back full (10), starting after a hole.
        await hub.stop()
        ids += [await fake.xadd("s", {"n": str(i)}) for i in range(10, 40)]
        fake.trim("s", 15)
        hub.start()
        items = await drain(sub, 16)
    finally:
        await hub.stop()
    assert isinstance(items[0], Gap)
    assert items[0].event["after"] == ids[9] and items[0].event["before"] == ids[25]
    assert [e.id for e in items[1:] if isinstance(e, Entry)] == ids[25:]
    assert hub.gaps == 1


async def test_a_reader_that_keeps_up_never_checks_for_trims(hub_and_redis: Any) -> None:
    hub, fake = hub_and_redis
    sub, _ = await hub.subscribe("s", streamids.START)
    for i in range(20):
        await fake.xadd("s", {"n": str(i)})
        await drain(sub, 1)
    fake.trim("s", 5)  # trimming what was read already is no gap
    await fake.xadd("s", {"n": "last"})
    assert [e.fields["n"] for e in await drain(sub, 1) if isinstance(e, Entry)] == ["last"]
    assert hub.gaps == 0
