"""Reading a stream from a resume point, and saying so when entries are gone.

Streams are trimmed (`XADD MAXLEN ~`): a reader whose resume point (`Last-Event-ID`, a log
offset) is older than the oldest entry kept would go on from that entry as if nothing were
missing. `read_page` reads one page after a cursor together with the stream's `XINFO` in one
transaction and reports a `gap` when the cursor is older than the first entry kept and entries
were trimmed. Redis does not record the last trimmed id (only `XDEL` sets `max-deleted-entry-id`),
so a gap says "some or all of the entries between these ids are gone"; the count is known only
for a read from the start (`entries-added` minus `length`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from longtask.api.streaming import streamids
from longtask.api.streaming.streamids import rows
from longtask.core import events
from redis.asyncio import Redis
from redis.exceptions import ResponseError


@dataclass(frozen=True, slots=True)
class Page:
    """Entries after a cursor, and the gap before them (None: nothing is missing)."""

    rows: list[tuple[str, dict[str, Any]]]
    gap: events.GapEvent | None = None


def gap_of(info: Any, cursor: str) -> events.GapEvent | None:
    """The gap between `cursor` and what `XINFO STREAM` says is kept, if any."""
    if not isinstance(info, dict):
        return None  # no such stream (XINFO answered an error): nothing was kept to miss
    length, added = int(info.get("length") or 0), int(info.get("entries-added") or 0)
    if added <= length:
        return None  # nothing was trimmed
    first = info.get("first-entry")
    before = str(first[0]) if first else None
    if before is not None and not streamids.is_after(before, cursor):
        return None  # the cursor is within what is kept
    skipped = added - length if cursor == streamids.START else None
    return events.gap(cursor, before, skipped)


async def read_page(redis: Redis, key: str, cursor: str, count: int) -> Page:
    """Up to `count` entries after `cursor` (exclusive), and the gap before them."""
    pipe = redis.pipeline(transaction=True)
    pipe.xinfo_stream(key)
    pipe.xrange(key, min=f"({cursor}", max="+", count=count)
    info, found = await pipe.execute(raise_on_error=False)
    if isinstance(found, Exception):
        raise found
    return Page(rows(found), None if isinstance(info, ResponseError) else gap_of(info, cursor))
