"""The watch fallback: id-less status/progress/end frames from LongTask versions."""

from __future__ import annotations

from typing import Any

from longtask.api.streaming.tracking import StatusTracker


def obj(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "d"}, "status": status}


def test_no_change_no_frames() -> None:
    tracker = StatusTracker.of(obj(phase="Running", progress=10, message="a"))
    assert tracker.changes(obj(phase="Running", progress=10, message="a")) == []


def test_progress_and_phase_changes_become_frames_without_ids() -> None:
    tracker = StatusTracker.of(obj(phase="Pending"))
    frames = tracker.changes(obj(phase="Running", progress=30, message="m", attempt=1))
    assert [f.event for f in frames] == ["status", "progress"]
    assert all(f.id is None for f in frames)
    assert frames[1].payload()["progress"] == 30
    assert frames[1].payload()["source"] == "watch"


def test_final_phase_ends() -> None:
    tracker = StatusTracker.of(obj(phase="Running", progress=90))
    frames = tracker.changes(obj(phase="Succeeded", progress=100))
    assert [f.event for f in frames] == ["status", "progress", "end"]
    assert frames[-1].payload()["phase"] == "Succeeded"
    assert tracker.final


def test_stream_events_teach_the_tracker() -> None:
    tracker = StatusTracker.of(obj(phase="Pending"))
    tracker.observe({"type": "status", "phase": "Running", "attempt": 2})
    tracker.observe({"type": "progress", "progress": 50, "message": "half"})
    # The watch then reports what the stream already said: nothing new.
    assert tracker.changes(obj(phase="Running", progress=50, message="half")) == []
    assert tracker.attempt == 2
