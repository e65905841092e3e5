"""Points in time from the command line: `--since 24h` (a while ago) or a date and time (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")


def moment(text: str, now: datetime | None = None) -> datetime:
    """`90s`, `15m`, `24h`, `7d`, `2w` before now, or an ISO 8601 date or time (UTC unless it
    says otherwise); ValueError for anything else."""
    text = text.strip()
    now = now or datetime.now(UTC)
    if found := _AGO.match(text):
        return now - timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (90s, 15m, 24h, 7d, 2w) nor a date and time"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
