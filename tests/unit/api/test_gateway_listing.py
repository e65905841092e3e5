"""Filtered pages of a task list: exact pages from API pages of any size, cursors that resume
in the middle of an API page, a bounded scan per request, malformed cursors refused."""

from __future__ import annotations

from typing import Any

import pytest
from longtask.api import listing

NAMES = [f"t{i:02d}" for i in range(23)]


class ApiServer:
    """Pages of objects named NAMES, as the API server pages them (continue = next index)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, int]] = []

    async def fetch(self, token: str | None, size: int) -> dict[str, Any]:
        self.calls.append((token, size))
        start = int(token) if token else 0
        items = [{"metadata": {"name": n}} for n in NAMES[start : start + size]]
        following = str(start + size) if start + size < len(NAMES) else None
        return {"items": items, "metadata": {"continue": following}}


def names(page: listing.Page) -> list[str]:
    return [o["metadata"]["name"] for o in page.items]


async def read_all(api: ApiServer, keep: Any, limit: int, budget: int = 5000) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        found = await listing.page(api.fetch, keep, limit, cursor, budget)
        pages.append(names(found))
        if found.next is None:
            return pages
        cursor = listing.Cursor.decode(found.next.encode())


async def test_without_filters_api_pages_are_the_pages() -> None:
    api = ApiServer()
    pages = await read_all(api, None, 10)
    assert pages == [NAMES[0:10], NAMES[10:20], NAMES[20:]]
    assert [size for _, size in api.calls] == [10, 10, 10]


async def test_filtered_pages_are_full_and_resume_inside_an_api_page() -> None:
    api = ApiServer()
    odd = lambda o: int(o["metadata"]["name"][1:]) % 2 == 1  # noqa: E731
    pages = await read_all(api, odd, 4)
    assert pages == [
        ["t01", "t03", "t05", "t07"],
        ["t09", "t11", "t13", "t15"],
        ["t17", "t19", "t21"],
    ]
    # One big API page served all three (read again with the same token each time).
    assert api.calls == [(None, 500)] * 3


async def test_a_selective_filter_stops_at_the_budget_with_a_cursor() -> None:
    api = ApiServer()
    none_match = lambda o: False  # noqa: E731
    cursor = listing.Cursor(None, 5)
    found = await listing.page(api.fetch, none_match, 10, cursor, budget=10)
    assert found.items == [] and found.next == listing.Cursor("10", 5)
    rest = await read_all(api, none_match, 10, budget=10)
    assert all(page == [] for page in rest)


@pytest.mark.parametrize("bad", ["x", "e30", listing.Cursor(None, 5, 9).encode(), "!!!!"])
def test_malformed_cursors_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        listing.Cursor.decode(bad)
