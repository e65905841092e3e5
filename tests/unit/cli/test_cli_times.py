"""`--since 24h` and dates on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from longtask.cli.times import moment

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("90s", 90),
        ("15m", 900),
        ("24h", 86400),
        ("7d", 7 * 86400),
        ("2w", 14 * 86400),
        ("1.5h", 5400),
    ],
)
def test_durations_count_back_from_now(text: str, ago: int) -> None:
    assert moment(text, NOW) == NOW - timedelta(seconds=ago)


def test_dates_and_times_are_utc_unless_they_say_otherwise() -> None:
    assert moment("2026-02-01", NOW) == datetime(2026, 2, 1, tzinfo=UTC)
    assert moment("2026-02-01T10:00:00+02:00", NOW) == datetime(
        2026, 2, 1, 10, tzinfo=timezone(timedelta(hours=2))
    )


@pytest.mark.parametrize("text", ["yesterday", "24", "5y", "-3h", ""])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="neither a duration"):
        moment(text, NOW)
