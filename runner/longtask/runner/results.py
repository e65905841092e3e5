"""Where a task's result goes: inline in `status.result` when small, else in Redis (`resultRef`)."""

from __future__ import annotations

import json
from typing import Any, Final

from longtask.core import jsonvalues, resource

# A result larger than this is refused (it would not fit a Redis string sensibly either).
RESULT_REDIS_MAX_BYTES: Final = 16 * 1024 * 1024


class ResultError(ValueError):
    """The result is not JSON-serializable or too large."""


def encode(value: Any) -> str:
    """Compact JSON of a result; raises ResultError when it cannot be stored as it is (not
    JSON, a number the API server would change, too large)."""
    if found := jsonvalues.problems(value, limit=1):
        raise ResultError(f"{found[0].where('result')}: {found[0].message}")
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ResultError(f"the result is not JSON-serializable: {exc}") from None
    if len(text.encode()) > RESULT_REDIS_MAX_BYTES:
        raise ResultError(f"the result is larger than {RESULT_REDIS_MAX_BYTES} bytes")
    return text


def fits_status(encoded: str) -> bool:
    """Whether an encoded result may go into `status.result` (the rest goes to Redis)."""
    return len(encoded.encode()) <= resource.RESULT_MAX_BYTES
