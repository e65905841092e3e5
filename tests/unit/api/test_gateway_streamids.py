"""Resume ids: parsing, ordering, header over query."""

from __future__ import annotations

import pytest
from longtask.api.streaming import streamids


def test_order_is_numeric_not_lexical() -> None:
    assert streamids.is_after("10-0", "9-5")
    assert streamids.is_after("9-10", "9-9")
    assert not streamids.is_after("9-9", "9-9")


BAD_IDS = ["", "abc", "1-", "-1", "1-2-3", "1.5-0", "$", "+", "9" * 30 + "-0"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        streamids.parse(bad)


def test_header_wins_over_query() -> None:
    assert streamids.resume_point("5-1", "3-0") == "5-1"
    assert streamids.resume_point(None, "3-0") == "3-0"
    assert streamids.resume_point("  ", None) == streamids.START
    assert streamids.resume_point(None, None) == streamids.START


def test_resume_point_normalises() -> None:
    assert streamids.resume_point("007-01", None) == "7-1"
