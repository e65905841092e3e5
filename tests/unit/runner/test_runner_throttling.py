"""Coalescing (latest value wins) and rate limiting, with a fake clock."""

from __future__ import annotations

import pytest
from longtask.runner import throttling


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cursor_takes_only_the_latest_of_many_puts() -> None:
    latest: throttling.Latest[tuple[float, str]] = throttling.Latest()
    cursor = throttling.Cursor(latest)
    for i in range(100_000):
        latest.put((i / 1000, f"step {i}"))
    assert cursor.take() == (99.999, "step 99999")
    assert cursor.take() is None


def test_cursor_skips_a_value_equal_to_the_last_taken() -> None:
    latest: throttling.Latest[tuple[float, str]] = throttling.Latest()
    cursor = throttling.Cursor(latest)
    latest.put((10.0, "a"))
    assert cursor.take() == (10.0, "a")
    latest.put((10.0, "a"))
    assert not cursor.pending()
    assert cursor.take() is None
    latest.put((10.0, "b"))
    assert cursor.pending()
    assert cursor.take() == (10.0, "b")


def test_two_cursors_on_one_value_are_independent() -> None:
    latest: throttling.Latest[int] = throttling.Latest()
    fast, slow = throttling.Cursor(latest), throttling.Cursor(latest)
    latest.put(1)
    assert fast.take() == 1
    latest.put(2)
    assert fast.take() == 2
    assert slow.take() == 2
    assert slow.taken == 2


def test_cursor_on_an_empty_value_takes_nothing() -> None:
    cursor = throttling.Cursor(throttling.Latest[int]())
    assert not cursor.pending()
    assert cursor.take() is None


def test_throttle_allows_the_first_action_at_once_then_one_per_interval() -> None:
    clock = FakeClock()
    throttle = throttling.Throttle(2.0, clock)
    assert throttle.delay() == 0.0
    throttle.mark()
    clock.now += 0.5
    assert throttle.delay() == 1.5
    clock.now += 1.5
    assert throttle.delay() == 0.0


def test_throttled_actions_over_a_minute_stay_within_the_bound() -> None:
    clock = FakeClock()
    throttle = throttling.Throttle(2.0, clock)
    actions = 0
    for _ in range(60_000):  # a report every millisecond for a minute
        clock.now += 0.001
        if throttle.delay() == 0.0:
            throttle.mark()
            actions += 1
    assert actions <= 60 / 2.0 + 1


def test_a_burst_goes_at_once_after_a_quiet_spell_and_the_average_stays_bounded() -> None:
    clock = FakeClock()
    throttle = throttling.Throttle(0.02, clock, burst=3)
    for _ in range(3):  # three at once after a quiet spell
        assert throttle.delay() == 0.0
        throttle.mark()
    assert throttle.delay() == pytest.approx(0.02)
    actions = 0
    for _ in range(60_000):  # a report every millisecond for a minute
        clock.now += 0.001
        if throttle.delay() == 0.0:
            throttle.mark()
            actions += 1
    assert actions <= 60 / 0.02 + 3


def test_a_burst_lets_calls_at_the_rate_through_at_once_despite_jitter() -> None:
    clock = FakeClock()
    throttle = throttling.Throttle(0.02, clock, burst=2)
    waited = 0.0
    for n in range(1000):  # 50 calls/s, each up to 5 ms early or late
        clock.now = 100 + n * 0.02 + (0.005 if n % 2 else -0.005)
        waited += throttle.delay()
        throttle.mark()
    assert waited == 0.0


def test_backoff_grows_to_its_maximum_and_resets() -> None:
    backoff = throttling.Backoff(initial=1.0, factor=2.0, maximum=8.0, rand=lambda: 1.0)
    assert [backoff.next() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next() == 1.0


def test_backoff_jitter_stays_in_the_upper_half() -> None:
    backoff = throttling.Backoff(initial=4.0, maximum=4.0, rand=lambda: 0.0)
    assert backoff.next() == 2.0


def test_backoff_survives_very_many_failures() -> None:
    backoff = throttling.Backoff(initial=0.2, maximum=10.0, rand=lambda: 1.0)
    for _ in range(5000):
        delay = backoff.next()
    assert delay == 10.0
