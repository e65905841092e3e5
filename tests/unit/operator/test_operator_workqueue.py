"""The work queue: dedup, one worker per key, re-run after a change during handling, delays,
rate-limited retries."""

from __future__ import annotations

import asyncio

from longtask.operator.workqueue import ExponentialLimiter, WorkQueue


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


async def test_discard_drops_a_scheduled_key() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 30)
    queue.discard("a")
    assert queue.scheduled == 0
    queue.add_after("b", 0)
    assert len(queue) == 1
    queue.shut_down()


async def test_rate_limited_adds_double_per_failure_up_to_the_cap_and_forget_resets() -> None:
    queue: WorkQueue[str] = WorkQueue(ExponentialLimiter(base=1.0, maximum=5.0))
    assert [queue.add_rate_limited("a") for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert queue.num_requeues("a") == 5 and queue.num_requeues("b") == 0
    assert queue.add_rate_limited("b") == 1.0  # per key
    queue.forget("a")
    assert queue.num_requeues("a") == 0 and queue.add_rate_limited("a") == 1.0
    assert queue.scheduled == 2  # one timer per key, the earliest kept
    queue.shut_down()
    assert queue.scheduled == 0


async def test_a_rate_limited_key_comes_back_after_its_delay() -> None:
    queue: WorkQueue[str] = WorkQueue(ExponentialLimiter(base=0.01, maximum=0.01))
    queue.add_rate_limited("a")
    assert await asyncio.wait_for(queue.get(), timeout=5) == "a"


def test_the_limiter_survives_very_many_failures() -> None:
    limiter: ExponentialLimiter[str] = ExponentialLimiter(base=1.0, maximum=60.0)
    assert [limiter.when("a") for _ in range(2000)][-1] == 60.0
