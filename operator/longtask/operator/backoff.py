"""The retry delay between attempts: initial * factor^(n-1), capped, with full jitter.

`n` is the number of the attempt that just failed (1 for the first). With jitter the delay is
uniform in [0, ceiling] ("full jitter"), which spreads retries of many tasks that failed together.
The delay is drawn once and stored in `status.nextAttemptTime`, so a restarted operator keeps it.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

from longtask.core import resource


@dataclasses.dataclass(frozen=True)
class Backoff:
    initial_seconds: float = resource.DEFAULT_BACKOFF_INITIAL_SECONDS
    factor: float = resource.DEFAULT_BACKOFF_FACTOR
    max_seconds: float = resource.DEFAULT_BACKOFF_MAX_SECONDS
    jitter: bool = True

    @classmethod
    def from_spec(cls, spec: resource.Spec) -> Backoff:
        """The policy of `spec.retry.backoff`, defaults filled in."""
        raw = (spec.get("retry") or {}).get("backoff") or {}
        return cls(
            initial_seconds=float(
                raw.get("initialSeconds", resource.DEFAULT_BACKOFF_INITIAL_SECONDS)
            ),
            factor=float(raw.get("factor", resource.DEFAULT_BACKOFF_FACTOR)),
            max_seconds=float(raw.get("maxSeconds", resource.DEFAULT_BACKOFF_MAX_SECONDS)),
            jitter=bool(raw.get("jitter", True)),
        )


def ceiling(policy: Backoff, failed_attempt: int) -> float:
    """The largest delay after attempt `failed_attempt` (1-based) failed."""
    exponent = max(0, failed_attempt - 1)
    try:
        raw = policy.initial_seconds * policy.factor**exponent
    except OverflowError:
        raw = float("inf")
    return max(0.0, min(policy.max_seconds, raw))


def delay(policy: Backoff, failed_attempt: int, rand: Callable[[], float] = random.random) -> float:
    """The delay before the next attempt; `rand` returns a float in [0, 1)."""
    top = ceiling(policy, failed_attempt)
    return top * rand() if policy.jitter else top


def max_attempts(spec: resource.Spec) -> int:
    """`spec.retry.maxAttempts` with its default, clamped to the contract's range."""
    raw = (spec.get("retry") or {}).get("maxAttempts", resource.DEFAULT_MAX_ATTEMPTS)
    return max(1, min(resource.MAX_ATTEMPTS_LIMIT, int(raw)))
