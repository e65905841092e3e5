"""Events of a task's Redis stream: their schema and encoding.

Each stream entry has one field, `data`, holding compact JSON with at least `type`, `ts` (unix
milliseconds) and `attempt`. The gateway forwards entries as SSE events whose `event:` is the
type and whose `id:` is the stream entry id.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Mapping
from typing import Any, Final

DATA_FIELD: Final = "data"


class EventType(enum.StrEnum):
    PROGRESS = "progress"  # runner: progress (0-100) and message
    HEARTBEAT = "heartbeat"  # runner: alive, every few seconds
    RESULT = "result"  # runner: the task's result (or resultRef)
    LOG = "log"  # runner: a log line (also in the logs stream)
    STATUS = "status"  # operator: a phase change (phase, reason, message)
    END = "end"  # operator: the task reached a final phase; nothing follows


def now_ms() -> int:
    return int(time.time() * 1000)


def make(kind: EventType, attempt: int, **fields: Any) -> dict[str, Any]:
    """An event as a dict, with the fields every event has."""
    return {"type": kind.value, "ts": now_ms(), "attempt": attempt, **fields}


def encode(event: dict[str, Any]) -> dict[str, str]:
    """The stream entry (XADD field map) for an event."""
    return {DATA_FIELD: json.dumps(event, separators=(",", ":"), default=str)}


def decode(fields: Mapping[Any, Any]) -> dict[str, Any]:
    """The event of a stream entry; accepts bytes or str keys and values."""
    raw = fields.get(DATA_FIELD, fields.get(DATA_FIELD.encode()))
    if raw is None:
        raise ValueError("stream entry has no data field")
    if isinstance(raw, bytes):
        raw = raw.decode()
    event = json.loads(raw)
    if not isinstance(event, dict) or "type" not in event:
        raise ValueError("stream entry data is not an event object")
    return event
