"""The work queue: dedup, one worker per key, re-run after a change during handling, delays."""

from __future__ import annotations

import asyncio

from longtask.operator.workqueue import WorkQueue


async def test_a_key_added_twice_is_queued_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    assert await queue.get() == "a"
    assert await queue.get() == "b"


async def test_a_key_added_while_active_comes_back_once_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")  # changed while a worker handles it
    assert len(queue) == 0  # not handed to a second worker meanwhile
    queue.done(key)
    assert len(queue) == 1 and await queue.get() == "a"
    queue.done("a")
    assert len(queue) == 0


async def test_delayed_add_keeps_the_earliest_time_only() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 30)
    queue.add_after("a", 0.01)
    queue.add_after("a", 60)
    assert queue.scheduled == 1
    assert await asyncio.wait_for(queue.get(), timeout=5) == "a"
    assert queue.scheduled == 0


async def test_forget_drops_a_scheduled_key() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 30)
    queue.forget("a")
    assert queue.scheduled == 0
    queue.add_after("b", 0)
    assert len(queue) == 1
    queue.close()
