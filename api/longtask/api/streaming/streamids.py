"""Redis stream ids as resume points: parsing, ordering, picking the client's resume id, and
the (id, fields) rows of a range reply.

A stream id is `<ms>-<seq>`; a client resumes after the id of the last event it received.
The `Last-Event-ID` header wins over `?lastEventId=`: a browser reconnecting replays the
original URL (with its original query) but sends the newer id in the header.
"""

from __future__ import annotations

import re
from typing import Any, Final

START: Final = "0-0"
MAX_LEN: Final = 41
_ID_RE: Final = re.compile(r"^(\d{1,20})-(\d{1,20})$")


def parse(value: str) -> tuple[int, int]:
    """(ms, seq) of a stream id; ValueError when it is not one."""
    match = _ID_RE.match(value.strip())
    if match is None:
        raise ValueError(f"{value[:MAX_LEN]!r} is not a stream id (<ms>-<seq>)")
    ms, seq = int(match.group(1)), int(match.group(2))
    if ms >= 2**64 or seq >= 2**64:
        raise ValueError("stream id out of range")
    return ms, seq


def is_after(candidate: str, reference: str) -> bool:
    """Whether `candidate` comes strictly after `reference` in a stream."""
    return parse(candidate) > parse(reference)


def resume_point(header: str | None, query: str | None) -> str:
    """The id to read after: the header, else the query, else the stream's start.

    Raises ValueError for a malformed id (the route answers 422)."""
    for value in (header, query):
        if value is not None and value.strip():
            ms, seq = parse(value)
            return f"{ms}-{seq}"
    return START


def rows(reply: Any) -> list[tuple[str, dict[str, Any]]]:
    """(id, fields) pairs of an XRANGE/XREVRANGE reply (a deleted entry has no fields)."""
    return [(str(entry_id), dict(fields or {})) for entry_id, fields in reply or []]
