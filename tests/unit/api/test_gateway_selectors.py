"""The gateway's label selector matcher: the API server's grammar, refused when malformed."""

from __future__ import annotations

import pytest
from longtask.api import selectors

LABELS = {"team": "a", "tier": "batch", "example.com/owner": "x"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("team", True),
        ("!team", False),
        ("!nope", True),
        ("team=a", True),
        ("team==a", True),
        ("team = a", True),
        ("team!=a", False),
        ("nope!=a", True),
        ("team in (a, b)", True),
        ("team notin (a,b)", False),
        ("tier in (web)", False),
        ("team=a,tier=batch", True),
        ("team=a, tier=web", False),
        ("example.com/owner=x", True),
        ("team=", False),
        ("empty=", False),
    ],
)
def test_matching(selector: str, expected: bool) -> None:
    assert selectors.parse(selector).matches(LABELS) is expected


def test_an_empty_value_matches_an_empty_label() -> None:
    assert selectors.parse("empty=").matches({"empty": ""})


@pytest.mark.parametrize(
    "bad", ["team in (a", "a in ()", "=a", "team=a b", "Bad Key=1", "a=(b)", "x" * 2000, "a,,b"]
)
def test_malformed_selectors_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        selectors.parse(bad)
