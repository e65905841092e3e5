"""The overview of a namespace: how many tasks are in each phase, and how many finished in each
of the last minutes and how long they ran. Pure functions over LongTask objects."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from longtask.api import taskobjects
from longtask.core import resource, wire

DEFAULT_MINUTES: Final = 60
MAX_MINUTES: Final = 24 * 60
_OUTCOMES: Final = {
    resource.Phase.SUCCEEDED: "succeeded",
    resource.Phase.FAILED: "failed",
    resource.Phase.CANCELLED: "cancelled",
}


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def summarize(
    namespace: str, objects: Iterable[dict[str, Any]], now: datetime, minutes: int
) -> wire.Summary:
    """Counts per phase of `objects`, and the `minutes` whole minutes up to `now`."""
    first = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    phases = dict.fromkeys((p.value for p in resource.Phase), 0)
    finished: list[dict[str, Any]] = [
        {"start": first + timedelta(minutes=i)} for i in range(minutes)
    ]
    runs: list[list[float]] = [[] for _ in range(minutes)]
    total = 0
    for obj in objects:
        total += 1
        phase = taskobjects.phase_of(obj)
        phases[phase.value] += 1
        status = obj.get("status") or {}
        done = _time(status.get("completionTime"))
        if phase not in _OUTCOMES or done is None or done < first:
            continue
        slot = int((done - first).total_seconds() // 60)
        if slot >= minutes:
            continue
        bucket = finished[slot]
        bucket[_OUTCOMES[phase]] = bucket.get(_OUTCOMES[phase], 0) + 1
        began = _time(status.get("startTime")) or _time(
            (obj.get("metadata") or {}).get("creationTimestamp")
        )
        if began is not None and began <= done:
            runs[slot].append((done - began).total_seconds())
    for bucket, seconds in zip(finished, runs, strict=True):
        if seconds:
            bucket["meanSeconds"] = statistics.fmean(seconds)
            bucket["maxSeconds"] = max(seconds)
    return wire.Summary.model_validate(
        {
            "namespace": namespace,
            "total": total,
            "phases": phases,
            "minutes": finished,
            "generatedAt": now,
        }
    )
