"""Progress conflation in a client's queue (hub design choice 2): beyond a few progress entries
of a stream still queued, a newer one replaces the oldest; nothing else is ever dropped or
reordered, and the ids a client takes only grow, so its resume point never moves backwards."""

from __future__ import annotations

import random

import pytest
from longtask.api.streaming.hub import Entry, Signal, Subscription
from longtask.core import events

KEYS = ("longtask:a:events", "longtask:b:events")


def entry(key: str, n: int, kind: str) -> Entry:
    return Entry(key, f"{n}-0", {"data": kind})


def offer(sub: Subscription, item: Entry) -> None:
    sub.offer(item, item.fields["data"] == events.EventType.PROGRESS)


async def test_a_newer_progress_replaces_the_queued_one_and_goes_to_the_end() -> None:
    sub = Subscription(10, keep=1)
    for item in (
        entry(KEYS[0], 1, "progress"),
        entry(KEYS[0], 2, "log"),
        entry(KEYS[0], 3, "progress"),
    ):
        offer(sub, item)
    taken = await sub.next_batch()
    assert [e.id for e in taken if isinstance(e, Entry)] == ["2-0", "3-0"]
    assert sub.conflated == 1


async def test_progress_alone_never_overflows_a_client() -> None:
    sub = Subscription(10, keep=3)
    for n in range(1000):
        offer(sub, entry(KEYS[n % 2], n, "progress"))
    assert not sub.overflowed
    assert len(sub) == 6  # the newest three of each stream
    taken = await sub.next_batch()
    assert [e.id for e in taken if isinstance(e, Entry)] == [f"{n}-0" for n in range(994, 1000)]


async def test_a_client_that_lags_a_moment_still_gets_every_update() -> None:
    sub = Subscription(100)  # the default: a few progress entries kept per stream
    for n in range(3):
        offer(sub, entry(KEYS[0], n, "progress"))
    assert [e.id for e in await sub.next_batch() if isinstance(e, Entry)] == ["0-0", "1-0", "2-0"]
    assert sub.conflated == 0


async def test_other_entries_still_overflow_a_client_that_falls_behind() -> None:
    sub = Subscription(3)
    for n in range(4):
        offer(sub, entry(KEYS[0], n, "output"))
    assert sub.overflowed


@pytest.mark.parametrize("seed", range(50))
async def test_random_traffic_keeps_every_other_event_in_order_and_ids_growing(
    seed: int,
) -> None:
    rng = random.Random(seed)
    sub = Subscription(10_000, keep=1 + seed % 4)
    offered: list[object] = []
    taken: list[object] = []
    n = 0
    for _ in range(500):
        if rng.random() < 0.3 and len(sub):
            taken += await sub.next_batch()
            continue
        n += 1
        kind = rng.choice(["progress"] * 4 + ["status", "log", "output", "result", "signal"])
        item: object = Signal.DOWN if kind == "signal" else entry(rng.choice(KEYS), n, kind)
        offered.append(item)
        if isinstance(item, Entry):
            offer(sub, item)
        else:
            sub.offer(item)
    if len(sub):
        taken += await sub.next_batch()

    def kept(items: list[object]) -> list[object]:
        return [i for i in items if not isinstance(i, Entry) or i.fields["data"] != "progress"]

    # Every non-progress item, exactly once, in the order offered.
    assert kept(taken) == kept(offered)
    for key in KEYS:
        ids = [i.order for i in taken if isinstance(i, Entry) and i.key == key]
        assert ids == sorted(set(ids))  # a resume point only moves forward
        progress = [i for i in offered if isinstance(i, Entry) and i.key == key]
        progress = [i for i in progress if i.fields["data"] == "progress"]
        if progress:  # the newest progress is never dropped
            assert progress[-1] in taken
    assert not sub.overflowed
