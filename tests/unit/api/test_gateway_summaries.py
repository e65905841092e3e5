"""The namespace overview: counts per phase, and tasks finished per minute with run times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from longtask.api import summaries

NOW = datetime(2026, 1, 1, 12, 30, 40, tzinfo=UTC)


def task(phase: str | None, start: str | None = None, done: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if phase:
        status["phase"] = phase
    if start:
        status["startTime"] = start
    if done:
        status["completionTime"] = done
    return {
        "metadata": {"name": "t", "creationTimestamp": "2026-01-01T12:00:00Z"},
        "status": status,
    }


def test_counts_every_phase_zeros_included() -> None:
    found = summaries.summarize("ns", [task(None), task("Running"), task("Running")], NOW, 5)
    assert found.total == 3
    assert found.phases == {
        "Queued": 0,
        "Pending": 1,
        "Running": 2,
        "Retrying": 0,
        "Succeeded": 0,
        "Failed": 0,
        "Cancelled": 0,
    }


def test_finished_tasks_fall_into_their_minute_with_run_times() -> None:
    tasks = [
        task("Succeeded", "2026-01-01T12:29:00Z", "2026-01-01T12:29:10Z"),
        task("Succeeded", "2026-01-01T12:28:50Z", "2026-01-01T12:29:20Z"),
        task("Failed", None, "2026-01-01T12:30:05Z"),  # no start: from its creation
        task("Cancelled", "2026-01-01T12:26:00Z", "2026-01-01T12:26:30Z"),  # before the window
        task("Running", "2026-01-01T12:29:00Z"),
    ]
    found = summaries.summarize("ns", tasks, NOW, 3)
    assert [m.start.strftime("%H:%M") for m in found.minutes] == ["12:28", "12:29", "12:30"]
    empty, busy, last = found.minutes
    assert (empty.succeeded, empty.mean_seconds) == (0, None)
    assert (busy.succeeded, busy.failed, busy.mean_seconds, busy.max_seconds) == (2, 0, 20, 30)
    assert (last.failed, last.max_seconds) == (1, 1805)
    assert found.phases["Cancelled"] == 1  # counted, though it finished before the window
