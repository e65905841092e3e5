"""The watch fallback: id-less status/progress/end frames from what a follower learns."""

from __future__ import annotations

from typing import Any

from longtask.api.streaming import tracking
from longtask.core import taskstate


def status(**fields: Any) -> dict[str, Any]:
    return fields


def test_no_change_no_frames() -> None:
    known = taskstate.of_status(status(phase="Running", progress=10, message="a"))
    again = taskstate.absorb(known, status(phase="Running", progress=10, message="a"))
    assert tracking.frames(known, again) == []


def test_progress_and_phase_changes_become_frames_without_ids() -> None:
    known = taskstate.of_status(status(phase="Pending"))
    after = taskstate.absorb(known, status(phase="Running", progress=30, message="m", attempt=1))
    frames = tracking.frames(known, after)
    assert [f.event for f in frames] == ["status", "progress"]
    assert all(f.id is None for f in frames)
    assert frames[0].payload()["phase"] == "Running"
    assert frames[1].payload()["progress"] == 30
    assert frames[1].payload()["attempt"] == 1
    assert {f.payload()["source"] for f in frames} == {"watch"}


def test_final_phase_ends() -> None:
    known = taskstate.of_status(status(phase="Running", progress=90))
    after = taskstate.absorb(known, status(phase="Succeeded", progress=100))
    frames = tracking.frames(known, after)
    assert [f.event for f in frames] == ["status", "progress", "end"]
    assert frames[-1].payload()["phase"] == "Succeeded"
    assert frames[-1].is_end


def test_stream_events_teach_the_same_state() -> None:
    known = taskstate.of_status(status(phase="Pending"))
    known = taskstate.apply(known, {"type": "status", "phase": "Running", "attempt": 2})
    known = taskstate.apply(known, {"type": "progress", "progress": 50, "message": "half"})
    # The watch then reports what the stream already said: nothing new.
    after = taskstate.absorb(known, status(phase="Running", progress=50, message="half"))
    assert tracking.frames(known, after) == []
    assert after.attempt == 2


def test_a_synthetic_or_deleted_end_says_so() -> None:
    known = taskstate.of_status(status(phase="Failed", attempt=3))
    synthetic = tracking.end(known, synthetic=True).payload()
    assert (synthetic["phase"], synthetic["attempt"], synthetic["synthetic"]) == ("Failed", 3, True)
    assert tracking.end(known, deleted=True).payload()["deleted"] is True
