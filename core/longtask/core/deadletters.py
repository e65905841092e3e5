"""Entries of the dead-letter stream (`keys.DEADLETTER`): one per task whose attempts were all
used up. The operator writes them; the gateway lists them.

Fields are flat strings (no JSON), so the stream reads plainly with `redis-cli XRANGE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict


class DeadLetter(TypedDict):
    namespace: str
    name: str
    uid: str
    attempts: int
    """Attempts made, all failed."""
    reason: str
    """Why the last attempt failed (a Reason value)."""
    error: str
    """The last attempt's error message."""
    ts: int
    """When the task was dead-lettered (unix ms)."""


def encode(entry: DeadLetter) -> dict[str, str]:
    """The stream entry (XADD field map) of a dead letter."""
    return {field: str(value) for field, value in entry.items()}


def text_fields(fields: Mapping[Any, Any]) -> dict[str, str]:
    """A stream entry's fields as text (bytes or str keys and values)."""
    return {_text(key): _text(value) for key, value in fields.items()}


def decode(fields: Mapping[Any, Any]) -> DeadLetter:
    """The dead letter of a stream entry; ValueError when a field is missing or malformed."""
    text = text_fields(fields)
    try:
        return DeadLetter(
            namespace=text["namespace"],
            name=text["name"],
            uid=text["uid"],
            attempts=int(text["attempts"]),
            reason=text["reason"],
            error=text["error"],
            ts=int(text["ts"]),
        )
    except KeyError as exc:
        raise ValueError(f"dead-letter entry lacks {exc.args[0]!r}") from None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
