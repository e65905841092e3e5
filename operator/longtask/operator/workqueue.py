"""A rate-limited work queue of task keys, shaped after client-go's RateLimitingInterface.

- `add`: queue a key. A key added while queued is not queued twice; a key added while a worker
  handles it is handled again once that worker calls `done`, so no change is missed and no key is
  handled concurrently.
- `add_after`: queue a key after a delay. Only the earliest due time per key is kept, so the
  timers are bounded by the number of keys.
- `add_rate_limited` / `forget` / `num_requeues`: retry a failed key after a per-key exponential
  delay (`ExponentialLimiter`, client-go's ItemExponentialFailureRateLimiter); `forget` resets
  its count once the key succeeded (or its object is gone).
- `get` / `done`: what a worker takes and gives back.
- `discard`: drop a key's delayed addition (its object is gone); `shut_down` drops them all.

A worker's loop reads as in any controller-runtime reconciler:

    key = await queue.get()
    try:
        await reconcile(key)
    except Exception:
        queue.add_rate_limited(key)
    else:
        queue.forget(key)
    finally:
        queue.done(key)
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ExponentialLimiter(Generic[K]):
    """Per-key delays doubling from `base` with each failure, capped at `maximum`."""

    def __init__(self, base: float = 1.0, maximum: float = 60.0) -> None:
        self.base = base
        self.maximum = maximum
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        """The delay before the next try of `key`, counting this failure."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        return min(self.maximum, self.base * 2.0 ** min(failures, 64))

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)


class WorkQueue(Generic[K]):
    def __init__(self, limiter: ExponentialLimiter[K] | None = None) -> None:
        self._limiter: ExponentialLimiter[K] = limiter or ExponentialLimiter()
        self._ready: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._active: set[K] = set()
        self._dirty: set[K] = set()
        self._timers: dict[K, asyncio.TimerHandle] = {}

    def add(self, key: K) -> None:
        if key in self._active:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.put_nowait(key)

    def add_after(self, key: K, delay: float) -> None:
        """Add `key` after `delay` seconds, unless an earlier addition is already scheduled."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        timer = self._timers.get(key)
        if timer is not None:
            if timer.when() <= due:
                return
            timer.cancel()
        self._timers[key] = loop.call_at(due, self._fire, key)

    def add_rate_limited(self, key: K) -> float:
        """Add `key` after its limiter's next delay (a retry of a failure); returns the delay."""
        delay = self._limiter.when(key)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """Reset the failures of `key`: its next rate-limited addition waits the base delay."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """Failures of `key` since it was last forgotten."""
        return self._limiter.num_requeues(key)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def get(self) -> K:
        key = await self._ready.get()
        self._queued.discard(key)
        self._active.add(key)
        return key

    def done(self, key: K) -> None:
        self._active.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    def discard(self, key: K) -> None:
        """Drop the delayed addition of a key (its object is gone)."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def __len__(self) -> int:
        return len(self._queued)

    @property
    def scheduled(self) -> int:
        return len(self._timers)

    def shut_down(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
