"""Encoding of Server-Sent Events: frames, batches, comments and the retry hint.

Only real stream entries carry an `id:` (the Redis stream id): a snapshot, a ping or an event
derived from the LongTask watch never moves a client's resume point, because an event without
an id field leaves the browser's last event id as it was. Several pending frames are encoded
into one chunk, so a client that fell behind costs one write instead of one per event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from longtask.core import events

SNAPSHOT: Final = events.SseEvent.SNAPSHOT.value
UNKNOWN: Final = events.SseEvent.UNKNOWN.value
# Event names a client sees; anything else a writer puts in `type` is sent as UNKNOWN.
_EVENT_NAME_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
# Events a client must never miss: a queue overflow drops the client (it resumes by id), never
# these events. Progress and heartbeats are just as kept; the set names what matters most.
ESSENTIAL: Final = frozenset(
    {
        events.EventType.STATUS,
        events.EventType.RESULT,
        events.EventType.LOG,
        events.EventType.OUTPUT,
        events.EventType.RETRACT,
        events.EventType.END,
    }
)


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE event: its name, its JSON data and, for stream entries only, the stream id.

    A frame of a stream entry is built once and shared by every client of the task, so its
    wire bytes and parsed data are computed once too (the per-client cost is a queue put).
    """

    event: str
    data: str
    id: str | None = None
    parsed: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    wire: bytes = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "wire", _wire(self.event, self.data, self.id))

    @property
    def is_end(self) -> bool:
        return self.event == events.EventType.END

    def payload(self) -> dict[str, Any]:
        """The data as a dict (shared between clients: do not modify it)."""
        if self.parsed is not None:
            return self.parsed
        value = json.loads(self.data)
        return value if isinstance(value, dict) else {"value": value}


def event_name(kind: object) -> str:
    name = str(kind)
    return name if _EVENT_NAME_RE.match(name) else UNKNOWN


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def entry_frame(entry_id: str, fields: Mapping[Any, Any]) -> Frame:
    """The frame of a Redis stream entry; a malformed entry becomes an `unknown` event."""
    try:
        event = events.decode(dict(fields))
    except ValueError:
        return Frame(UNKNOWN, dumps({"type": UNKNOWN}), entry_id)
    return Frame(event_name(event.get("type")), dumps(event), entry_id, event)


def is_progress(fields: Mapping[Any, Any]) -> bool:
    """Whether a stream entry is a progress event: the only kind a newer one may replace in a
    client's queue (`hub`, design choice 2)."""
    try:
        return bool(events.decode(fields).get("type") == events.EventType.PROGRESS)
    except ValueError:
        return False


def frame(event: str, data: Mapping[str, Any], id: str | None = None) -> Frame:
    payload = dict(data)
    return Frame(event_name(event), dumps(payload), id, payload)


def _wire(event: str, data: str, id: str | None) -> bytes:
    lines = [f"id: {id}"] if id is not None else []
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


def encode(item: Frame, retry_ms: int | None = None) -> bytes:
    if retry_ms is None:
        return item.wire
    return f"retry: {int(retry_ms)}\n".encode() + item.wire


def encode_batch(items: Iterable[Frame]) -> bytes:
    """Several frames as one chunk (one write to the client)."""
    return b"".join(item.wire for item in items)


def comment(text: str) -> bytes:
    return "".join(f": {line}\n" for line in text.splitlines() or [""]).encode() + b"\n"
