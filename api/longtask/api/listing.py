"""Pages of a task list filtered by what the API server cannot filter (phase, part of the name).

The API server pages LongTasks by name (`limit` + `continue`) and filters them by label; the
phase and a name search are checked here. Filtering a page after the fact would hand out pages
of any size down to none; instead a page is filled from as many API pages as it takes:

1. The `continue` the gateway hands out is its own cursor: the API server's continue token of
   the API page to read, the size of that page, and how many of its objects were already
   looked at. Reading the same token with the same size gives the same objects (the API server
   lists from one snapshot), so a page may end in the middle of an API page and the next one
   starts exactly after it: no task is skipped or shown twice.
2. Each request looks at a bounded number of objects (`budget`). A selective filter over a
   large namespace may then return fewer than `limit` items, even none, with a `continue`:
   the caller reads on. Without such filters the API pages are the gateway's pages.
3. A cursor is opaque (base64 of JSON); a malformed one is the caller's error (ValueError).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

DEFAULT_BUDGET: Final = 5000
# API page size when filtering here: big enough to keep the number of API calls low.
FILTER_PAGE: Final = 500

Object = dict[str, Any]
# Reads one API page: (continue token or None, limit) → the list response.
Fetch = Callable[[str | None, int], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Cursor:
    token: str | None
    """The API server's continue token of the API page to read (None: the first)."""
    size: int
    """The size of that API page."""
    skip: int = 0
    """Objects of that page already looked at."""

    def encode(self) -> str:
        raw = json.dumps({"t": self.token, "n": self.size, "s": self.skip}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            token, size, skip = raw["t"], raw["n"], raw["s"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise ValueError("continue is not a cursor this gateway handed out") from None
        if not (token is None or isinstance(token, str)):
            raise ValueError("continue is not a cursor this gateway handed out")
        if not (isinstance(size, int) and isinstance(skip, int) and 0 <= skip < size <= 1000):
            raise ValueError("continue is not a cursor this gateway handed out")
        return cls(token, size, skip)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Object]
    next: Cursor | None


async def page(
    fetch: Fetch,
    keep: Callable[[Object], bool] | None,
    limit: int,
    cursor: Cursor | None,
    budget: int = DEFAULT_BUDGET,
) -> Page:
    """Up to `limit` objects that `keep` keeps (all when None), from `cursor` on."""
    current = cursor or Cursor(None, limit if keep is None else max(limit, FILTER_PAGE))
    items: list[Object] = []
    looked = 0
    while True:
        listing = await fetch(current.token, current.size)
        objects = listing.get("items") or []
        following = (listing.get("metadata") or {}).get("continue") or None
        for index in range(current.skip, len(objects)):
            looked += 1
            if keep is None or keep(objects[index]):
                items.append(objects[index])
            if len(items) == limit:
                if index + 1 < len(objects):
                    return Page(items, Cursor(current.token, current.size, index + 1))
                return Page(items, Cursor(following, current.size) if following else None)
        if following is None:
            return Page(items, None)
        current = Cursor(following, current.size)
        if looked >= budget:
            return Page(items, current)
