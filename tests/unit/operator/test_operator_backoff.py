"""Backoff schedule: initial * factor^(n-1), capped, full jitter."""

from __future__ import annotations

import pytest
from longtask.operator import backoff


def test_defaults_come_from_the_contract_when_spec_has_no_retry() -> None:
    policy = backoff.Backoff.from_spec({})
    assert (policy.initial_seconds, policy.factor, policy.max_seconds, policy.jitter) == (
        10.0,
        2.0,
        600.0,
        True,
    )
    assert backoff.max_attempts({}) == 3


@pytest.mark.parametrize(("attempt", "expected"), [(1, 10.0), (2, 20.0), (3, 40.0), (6, 320.0)])
def test_ceiling_grows_geometrically(attempt: int, expected: float) -> None:
    assert backoff.ceiling(backoff.Backoff(), attempt) == expected


def test_ceiling_is_capped_even_when_the_power_overflows() -> None:
    policy = backoff.Backoff(initial_seconds=86400, factor=100, max_seconds=600)
    assert backoff.ceiling(policy, 7) == 600
    assert backoff.ceiling(policy, 1000) == 600


def test_full_jitter_scales_the_ceiling_by_the_random_draw() -> None:
    policy = backoff.Backoff(initial_seconds=4, factor=3, max_seconds=100)
    assert backoff.delay(policy, 2, rand=lambda: 0.5) == 6.0
    assert backoff.delay(policy, 2, rand=lambda: 0.0) == 0.0


def test_without_jitter_the_delay_is_the_ceiling() -> None:
    policy = backoff.Backoff.from_spec(
        {"retry": {"backoff": {"initialSeconds": 1, "factor": 2, "jitter": False}}}
    )
    assert backoff.delay(policy, 3, rand=lambda: 0.1) == 4.0


def test_max_attempts_is_clamped_to_the_contract_range() -> None:
    assert backoff.max_attempts({"retry": {"maxAttempts": 0}}) == 1
    assert backoff.max_attempts({"retry": {"maxAttempts": 1000}}) == 100
