"""The one fold of a task's events and statuses into what a follower knows."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from longtask.core import events, taskstate
from longtask.core.resource import Phase, Reason
from longtask.core.taskstate import TaskState


def fold(*items: Mapping[str, Any], state: TaskState | None = None) -> TaskState:
    state = state or TaskState()
    for item in items:
        state = taskstate.apply(state, item)
    return state


def test_a_new_state_is_pending_and_knows_nothing() -> None:
    state = TaskState()
    assert state.phase is Phase.PENDING and not state.final and not state.ended
    assert (state.progress, state.message, state.attempt, state.reason) == (None,) * 4


def test_a_status_describes_the_state() -> None:
    state = taskstate.of_status(
        {"phase": "Running", "progress": 40, "message": "m", "attempt": 2, "reason": "PodRunning"}
    )
    assert state == TaskState(
        phase=Phase.RUNNING,
        progress=40.0,
        message="m",
        attempt=2,
        reason="PodRunning",
        latest_message="m",
    )


def test_fields_a_status_lacks_keep_what_the_stream_said() -> None:
    state = fold(events.progress(1, 50.0, "half"), events.status(1, Phase.RUNNING))
    assert taskstate.absorb(state, {"phase": "Running"}) is state


def test_a_status_repeating_the_stream_teaches_nothing() -> None:
    state = taskstate.of_status({"phase": "Pending"})
    state = fold(
        events.status(2, Phase.RUNNING, Reason.POD_RUNNING, "attempt 2 is running"),
        events.progress(2, 50.0, "half"),
        state=state,
    )
    same = taskstate.absorb(
        state, {"phase": "Running", "progress": 50, "message": "half", "attempt": 2}
    )
    assert same is state


def test_progress_events_set_progress_and_the_tasks_message() -> None:
    state = fold(events.progress(1, 12.5, "step 1"))
    assert (state.progress, state.message, state.latest_message) == (12.5, "step 1", "step 1")
    assert state.attempt == 1 and state.phase_message is None


def test_status_events_set_phase_reason_and_the_operators_message() -> None:
    state = fold(
        events.progress(1, 60.0, "step 3"),
        events.status(1, Phase.RETRYING, Reason.BACKOFF, "attempt 2 of 3 in 4.0s"),
    )
    assert state.phase is Phase.RETRYING and state.reason == "Backoff"
    assert state.message == "step 3" and state.progress == 60.0
    assert state.phase_message == state.latest_message == "attempt 2 of 3 in 4.0s"
    later = fold(events.progress(2, 5.0, "step 1 again"), state=state)
    assert later.latest_message == "step 1 again" and later.attempt == 2


def test_end_ends_with_its_phase() -> None:
    state = fold(
        events.status(1, Phase.RUNNING),
        events.end(1, Phase.SUCCEEDED, Reason.COMPLETED, "attempt 1 succeeded"),
    )
    assert state.ended and state.final and state.phase is Phase.SUCCEEDED
    assert state.reason == "Completed"


def test_an_end_without_phase_still_ends() -> None:
    state = fold(events.status(1, Phase.RUNNING), events.end(1, None))
    assert state.ended and state.phase is Phase.RUNNING and not state.final


@pytest.mark.parametrize(
    "event",
    [
        events.heartbeat(3, 99.0, "old"),
        events.log(3, "a printed line"),
        events.result(3, {"x": 1}),
        {"type": "nosuchtype", "attempt": 3, "position": 2},
    ],
    ids=["heartbeat", "log", "result", "unknown type"],
)
def test_other_events_teach_only_the_attempt(event: dict[str, Any]) -> None:
    start = fold(events.progress(3, 10.0, "m"))
    assert fold(event, state=start) is start
    earlier = fold(events.progress(2, 10.0, "m"))
    # A later attempt: the earlier attempt's messages are forgotten, its progress is kept.
    assert fold(event, state=earlier) == TaskState(progress=10.0, attempt=3)


def test_a_new_attempt_never_shows_the_last_attempts_messages() -> None:
    failed = fold(
        events.progress(1, 40.0, "the command exited with code 1"),
        events.status(1, Phase.RETRYING, Reason.BACKOFF, "attempt 1 failed; attempt 2 in 2s"),
    )
    pending = taskstate.apply(failed, events.status(2, Phase.PENDING, Reason.JOB_CREATED))
    assert (pending.phase, pending.attempt) == (Phase.PENDING, 2)
    assert (pending.message, pending.phase_message, pending.latest_message) == (None, None, None)
    # The same through a status: the snapshot of attempt 2 holds no message of its own yet.
    snapshot = taskstate.absorb(failed, {"phase": "Pending", "attempt": 2, "progress": 40})
    assert (snapshot.message, snapshot.latest_message) == (None, None)
    running = taskstate.apply(pending, events.progress(2, 5.0, "starting over"))
    assert (running.message, running.latest_message) == ("starting over", "starting over")


@pytest.mark.parametrize(
    "event",
    [
        {"type": "progress", "progress": "50", "message": 7, "attempt": True},
        {"type": "progress", "progress": float("nan"), "attempt": 0},
        {"type": "progress", "progress": True, "attempt": -1},
        {"type": "status", "phase": "Exploded", "reason": 3, "message": None},
        {"type": "end", "phase": 1, "attempt": "2"},
        {"progress": 50, "phase": "Failed"},
    ],
)
def test_malformed_fields_teach_nothing(event: dict[str, Any]) -> None:
    start = fold(events.progress(2, 10.0, "m"))
    after = taskstate.apply(start, event)
    if event.get("type") == "end":  # an end, however malformed, still says nothing follows
        assert after == dataclasses.replace(start, ended=True)
    else:
        assert after is start


def test_a_status_with_malformed_fields_teaches_nothing() -> None:
    start = taskstate.of_status({"phase": "Running", "progress": 5, "message": "m", "attempt": 1})
    bad = {"phase": "Queueing", "progress": [], "message": 3, "attempt": "1", "reason": {}}
    assert taskstate.absorb(start, bad) is start


def test_a_null_message_or_reason_in_a_snapshot_clears_them() -> None:
    start = fold(events.progress(1, 5.0, "m"), events.status(1, Phase.RUNNING, "PodRunning", "r"))
    state = taskstate.absorb(start, {"phase": "Running", "message": None, "reason": None})
    assert state.message is None and state.reason is None
    assert state.latest_message == "r"


def test_receive_absorbs_snapshots_and_applies_other_events() -> None:
    state = taskstate.receive(
        TaskState(), "snapshot", {"name": "t", "phase": "Running", "progress": 20, "attempt": 1}
    )
    assert state.phase is Phase.RUNNING and state.progress == 20.0
    state = taskstate.receive(state, "progress", {"progress": 30, "message": "m"})
    assert state.progress == 30.0 and state.message == "m"
    state = taskstate.receive(state, "end", {"type": "end", "phase": "Cancelled"})
    assert state.ended and state.phase is Phase.CANCELLED


def test_a_whole_retried_task() -> None:
    stream = [
        events.status(1, Phase.PENDING, Reason.JOB_CREATED, "attempt 1 of 2: created Job t-1"),
        events.status(1, Phase.RUNNING, Reason.POD_RUNNING, "attempt 1 is running"),
        events.progress(1, 30.0, "loading"),
        events.heartbeat(1, 30.0, "loading"),
        events.log(1, "Traceback ..."),
        events.status(1, Phase.RETRYING, Reason.BACKOFF, "attempt 1 failed"),
        events.status(2, Phase.PENDING, Reason.JOB_CREATED, "attempt 2 of 2: created Job t-2"),
        events.status(2, Phase.RUNNING, Reason.POD_RUNNING, "attempt 2 is running"),
        events.progress(2, 100.0, "done"),
        events.result(2, 42),
        events.status(2, Phase.SUCCEEDED, Reason.COMPLETED, "attempt 2 succeeded"),
        events.end(2, Phase.SUCCEEDED, Reason.COMPLETED, "attempt 2 succeeded"),
    ]
    state = fold(*stream)
    assert state == TaskState(
        phase=Phase.SUCCEEDED,
        progress=100.0,
        message="done",
        attempt=2,
        reason="Completed",
        phase_message="attempt 2 succeeded",
        latest_message="attempt 2 succeeded",
        ended=True,
    )


def test_states_are_immutable() -> None:
    state = TaskState()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.phase = Phase.RUNNING  # type: ignore[misc]


def test_a_queue_event_says_the_place_and_a_start_clears_it() -> None:
    event = {
        "type": "queue",
        "ts": 1,
        "queue": "q",
        "position": 4,
        "queued": 9,
        "running": 8,
        "reason": "QueueFull",
        "eta": 120_000,
        "message": events.queue_message(4, "q", 120),
    }
    state = taskstate.receive(taskstate.TaskState(), "queue", event)
    assert state.phase is Phase.QUEUED and state.queue_position == 4
    assert state.queue_eta == 120_000 and state.latest_message == "queued #4 in q · ~2 min"
    started = taskstate.apply(state, {"type": "status", "phase": "Pending", "attempt": 1})
    assert started.queue_position is None and started.queue_eta is None
    snap = taskstate.absorb(taskstate.TaskState(), {"phase": "Queued", "queuePosition": 7})
    assert snap.queue_position == 7
