"""Timestamps as Kubernetes writes them (RFC 3339, UTC, whole seconds) and back."""

from __future__ import annotations

import datetime as dt
import functools


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_time(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as the API server stores `date-time` fields."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: object) -> dt.datetime | None:
    """A timestamp of a Kubernetes object, or None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    return _parse(text)


@functools.lru_cache(maxsize=16384)
def _parse(text: str) -> dt.datetime | None:
    # Cached: a queue's view reads the same creation and start times on every recompute.
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def to_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)
