"""Coalescing and rate limiting, as pure logic with an injectable clock.

Why: a task may call `ctx.progress` 100,000 times in a tight loop. The caller only replaces the
latest value (`Latest.put`, one attribute store, safe from any thread under the GIL); consumers
read it at their own pace (`Cursor.take`) no more often than their `Throttle` allows. So the cost
of reporting is set by the consumers' rates, not by how often the task reports, and the newest
value always wins: the final value is never dropped, only intermediate ones.
"""

from __future__ import annotations

import collections
import math
import random
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
Clock = Callable[[], float]


class Latest(Generic[T]):
    """The newest value written by producers; each `put` is a new version, even if equal."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: T | None = None

    def put(self, value: T) -> None:
        self.value = value


class Recent(Latest[T]):
    """A `Latest` that also remembers its last `size` values, numbered, so that a consumer a few
    values behind may still have each of them (`since`)."""

    __slots__ = ("count", "history")

    def __init__(self, size: int) -> None:
        super().__init__()
        self.count = 0
        self.history: collections.deque[tuple[int, T]] = collections.deque(maxlen=size)

    def put(self, value: T) -> None:
        self.count += 1
        self.history.append((self.count, value))
        self.value = value

    def since(self, count: int) -> list[tuple[int, T]]:
        """The remembered values numbered after `count`, oldest first."""
        return [(n, value) for n, value in list(self.history) if n > count]


class Cursor(Generic[T]):
    """One consumer's view of a `Latest`: `take` returns a value at most once, and skips a value
    equal to the one taken last (a task repeating itself makes no new event)."""

    def __init__(self, latest: Latest[T]) -> None:
        self._latest = latest
        self._seen: T | None = None
        self._taken: T | None = None

    def pending(self) -> bool:
        value = self._latest.value
        return value is not None and value is not self._seen and value != self._taken

    def take(self) -> T | None:
        value = self._latest.value
        if value is None or value is self._seen:
            return None
        self._seen = value
        if value == self._taken:
            return None
        self._taken = value
        return value

    @property
    def taken(self) -> T | None:
        """The value taken last (what the consumer reported)."""
        return self._taken


class Throttle:
    """At most one action per `interval` seconds on average, and at most `burst` in a row after
    a quiet spell (a token bucket, kept as the time it is full again): `delay()` says how long
    to wait before the next action, `mark()` records that it happened. With `burst` 1, actions
    are at least `interval` apart."""

    def __init__(self, interval: float, clock: Clock = time.monotonic, burst: int = 1) -> None:
        self.interval = interval
        self._clock = clock
        self._slack = (burst - 1) * interval
        self._full_at = -math.inf  # when the bucket holds `burst` tokens again

    def delay(self) -> float:
        return max(0.0, self._full_at - self._slack - self._clock())

    def mark(self) -> None:
        self._full_at = max(self._full_at, self._clock()) + self.interval


class Backoff:
    """Exponential backoff with full jitter for reconnects and retries: the n-th delay is uniform
    in [cap_n / 2, cap_n] with cap_n = min(maximum, initial * factor**n)."""

    def __init__(
        self,
        initial: float = 0.2,
        factor: float = 2.0,
        maximum: float = 10.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._initial = initial
        self._factor = factor
        self._maximum = maximum
        self._rand = rand
        self._failures = 0

    def next(self) -> float:
        cap = min(self._maximum, self._initial * self._factor ** min(self._failures, 64))
        self._failures += 1
        return cap / 2 + self._rand() * cap / 2

    def reset(self) -> None:
        self._failures = 0
