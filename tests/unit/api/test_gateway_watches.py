"""Shared namespace watches: one watch per namespace whatever the number of subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from longtask.api.streaming.follow import version_of
from longtask.api.streaming.hub import Subscription
from longtask.api.streaming.watches import WatchEvent, WatchHub


def task(name: str, progress: int = 0) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"progress": progress}}


class FakeKube:
    """A watch that lists one task, then sends whatever the test puts in `changes`."""

    def __init__(self) -> None:
        self.watches = 0
        self.changes: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def watch(self, namespace: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        self.watches += 1
        yield "LIST", {"items": [task("a")]}
        while True:
            yield await self.changes.get()


async def next_event(sub: Subscription) -> WatchEvent:
    async with asyncio.timeout(5):
        item = (await sub.next_batch())[0]
    assert isinstance(item, WatchEvent)
    return item


async def test_one_watch_for_many_subscribers_and_late_ones_get_the_cache() -> None:
    kube = FakeKube()
    hub = WatchHub(kube)  # type: ignore[arg-type]
    subs = [Subscription(10) for _ in range(50)]
    for sub in subs:
        hub.subscribe("ns", sub)
    for sub in subs:
        assert (await next_event(sub)).kind == "LIST"
    await kube.changes.put(("MODIFIED", task("a", 40)))
    for sub in subs:
        assert (await next_event(sub)).obj["status"]["progress"] == 40
    late = Subscription(10)
    hub.subscribe("ns", late)
    listed = await next_event(late)
    assert listed.kind == "LIST" and listed.obj["items"][0]["status"]["progress"] == 40
    assert kube.watches == 1
    for sub in [*subs, late]:
        hub.unsubscribe("ns", sub)
    assert hub.watches == 0
    await hub.stop()


def test_version_of_picks_the_task() -> None:
    listing = WatchEvent("ns", "LIST", {"items": [task("a"), task("b", 5)]})
    assert version_of(listing, "b") == (True, task("b", 5))
    assert version_of(listing, "c") == (True, None)  # not there: gone
    assert version_of(WatchEvent("ns", "MODIFIED", task("a")), "b") == (False, None)
    assert version_of(WatchEvent("ns", "DELETED", task("b")), "b") == (True, None)
