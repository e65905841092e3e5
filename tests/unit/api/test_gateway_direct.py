"""Entries written to an idle client's socket from the hub's fan-out (hub design choice 7) and
the batches its own task sends reach the client in stream order: every non-progress entry once,
ids only growing (its resume point never moves backwards), the newest progress kept, the end
last; an end or a status change always goes through the client's task."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from longtask.api.streaming import sse, streamids
from longtask.api.streaming.follow import Followers, follow_task
from longtask.api.streaming.hub import StreamHub
from longtask.core import events, keys
from longtask.core.resource import Phase

from tests.unit.api.test_gateway_hub import FakeRedis

UID = "0f0e0d0c-0000-4000-8000-000000000001"


class ReadRedis(FakeRedis):
    """Says when the hub first reads: entries added from then on reach the follow live."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = asyncio.Event()

    async def xread(self, streams: dict[str, str], count: int, block: int) -> Any:
        self.reading.set()
        return await super().xread(streams, count, block)


class FakeSink:
    """The client's socket: sometimes backed up (not writable), as a slow client's is."""

    def __init__(self, rng: random.Random, wire: list[sse.Frame]) -> None:
        self.rng = rng
        self.wire = wire
        self.writes = 0
        self.kinds: set[str] = set()

    def writable(self) -> bool:
        return self.rng.random() < 0.7

    def write(self, frames: list[sse.Frame]) -> None:
        self.writes += 1
        self.kinds.update(frame.event for frame in frames)
        self.wire.extend(frames)


@pytest.mark.parametrize("seed", range(5))
async def test_direct_writes_and_batches_reach_the_client_in_stream_order(seed: int) -> None:
    rng = random.Random(seed)
    fake = ReadRedis()
    hub = StreamHub(
        fake,  # type: ignore[arg-type]
        fake,  # type: ignore[arg-type]
        block_ms=50,
        queue_size=1000,
        retry_seconds=0.01,
        conflate=lambda entry: sse.is_progress(entry.fields),
    )
    hub.start()
    key = keys.events(UID)
    obj: dict[str, Any] = {
        "metadata": {"namespace": "ns", "name": "t", "uid": UID},
        "status": {"phase": Phase.RUNNING.value, "attempt": 1},
    }
    wire: list[sse.Frame] = []
    sink = FakeSink(rng, wire)
    batches = 0

    async def client() -> None:
        nonlocal batches
        deps = Followers(hub, fake, watches=None)  # type: ignore[arg-type]
        async for batch in follow_task(deps, obj, streamids.START, sink=sink):
            for _ in range(rng.randrange(8)):  # a send that takes a few turns of the loop
                await asyncio.sleep(0)
            wire.extend(batch)
            batches += 1

    following = asyncio.create_task(client())
    try:
        await fake.reading.wait()
        others, progress = [], []
        for n in range(400):
            if rng.random() < 0.8:
                progress.append(await fake.xadd(key, events.encode(events.progress(1, n, str(n)))))
            else:
                others.append(await fake.xadd(key, events.encode(events.log(1, f"line {n}"))))
            for _ in range(rng.randrange(3)):
                await asyncio.sleep(0)
        status = events.status(1, Phase.SUCCEEDED, None, None)
        others.append(await fake.xadd(key, events.encode(status)))
        others.append(await fake.xadd(key, events.encode(events.end(1, Phase.SUCCEEDED))))
        async with asyncio.timeout(10):
            await following
    finally:
        following.cancel()
        await hub.stop()
    ids = [frame.id for frame in wire if frame.id is not None]
    assert [streamids.parse(i) for i in ids] == sorted({streamids.parse(i) for i in ids})
    assert [frame.id for frame in wire if frame.event != "progress" and frame.id] == others
    assert progress[-1] in ids
    assert wire[-1].is_end
    assert [f.id for f in wire[-2:]] == others[-2:]
    assert sink.writes > 0 and batches > 1  # both ways were taken
    assert sink.kinds == {"progress", "log"}
