"""Regression: a list view lost the changes made between its page and its stream's watch LIST.

A client of the namespace stream without a snapshot lists its page itself. The stream used to
open before the namespace's shared watch had listed and dropped that LIST, so a change made in
between was in no page and no event. Now the stream sends `ready` once the watch has listed
(and again whenever it lists anew), and the client lists after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from longtask.api.streaming import follow
from longtask.api.streaming.watches import WatchEvent, WatchHub


def task(name: str, progress: int = 0) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, "status": {"progress": progress}}


class GatedKube:
    """A watch whose LIST waits until the test opens `gate`, then sends `changes`."""

    def __init__(self) -> None:
        self.listing = asyncio.Event()
        self.gate = asyncio.Event()
        self.changes: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def watch(self, namespace: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        self.listing.set()
        await self.gate.wait()
        yield "LIST", {"items": [task("a", 10)]}
        while True:
            yield await self.changes.get()


async def test_ready_comes_only_once_the_watch_listed_and_again_after_a_new_list() -> None:
    kube = GatedKube()
    watches = WatchHub(kube)  # type: ignore[arg-type]
    deps = follow.Followers(hub=None, redis=None, watches=watches)  # type: ignore[arg-type]
    view = follow.NamespaceView(snapshot=False)
    stream = follow.follow_namespace(deps, "ns", view)
    first = asyncio.ensure_future(anext(stream))
    await kube.listing.wait()
    assert not first.done()  # the watch has not listed: nothing may say ready yet
    kube.gate.set()
    async with asyncio.timeout(5):
        assert [f.event for f in await first] == ["ready"]
        await kube.changes.put(("MODIFIED", task("a", 20)))
        (changed,) = await anext(stream)
        assert (changed.event, changed.payload()["progress"]) == ("task", 20)
        await kube.changes.put(("LIST", {"items": [task("a", 30)]}))  # listed anew (expired)
        assert [f.event for f in await anext(stream)] == ["ready"]
    await stream.aclose()
    assert watches.watches == 0
    await watches.stop()


def test_a_snapshot_client_gets_the_list_and_no_ready() -> None:
    listing = WatchEvent("ns", "LIST", {"items": [task("a", 10)]})
    frame = follow.namespace_frame(listing, follow.NamespaceView(snapshot=True))
    assert frame is not None and frame.event == "snapshot"
    assert [t["name"] for t in frame.payload()["items"]] == ["a"]
    ready = follow.namespace_frame(listing, follow.NamespaceView(snapshot=False))
    assert ready is not None and (ready.event, ready.payload()) == ("ready", {})
