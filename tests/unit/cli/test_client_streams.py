"""The client's event parsing, resume state and outcome rules (pure, no transport)."""

from __future__ import annotations

import httpx
import pytest
from httpx_sse import ServerSentEvent
from longtask.client import errors, streams
from longtask.core import resource, taskstate, wire

from tests.unit.cli import sse


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def event(kind: str, id: str | None = None, **data: object) -> streams.TaskEvent:
    return streams.TaskEvent(kind, wire.Event.model_validate({"type": kind, **data}), id)


def test_snapshot_event_carries_the_task_and_its_progress() -> None:
    message = sse.snapshot(progress=40, message="half", attempt=2).decode()
    data = message.split("data: ", 1)[1].strip()
    parsed = streams.parse_event(ServerSentEvent(event="snapshot", data=data))
    assert parsed.task is not None and parsed.task.name == "t1"
    assert (parsed.progress, parsed.message, parsed.attempt, parsed.phase) == (
        40,
        "half",
        2,
        "Running",
    )
    assert parsed.id is None


def test_stream_event_keeps_id_and_extra_fields() -> None:
    parsed = streams.parse_event(
        ServerSentEvent(event="result", data='{"type":"result","result":{"n":3}}', id="5-1")
    )
    assert parsed.id == "5-1"
    assert parsed.type == "result"
    assert parsed.data.model_extra == {"result": {"n": 3}}


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '{"type": "progress", "progress": "x"}'])
def test_malformed_event_data_is_an_invalid_response(data: str) -> None:
    with pytest.raises(errors.InvalidResponse):
        streams.parse_event(ServerSentEvent(event="progress", data=data))


def test_oversized_event_is_refused() -> None:
    big = '{"type":"log","line":"' + "x" * streams.EVENT_MAX_CHARS + '"}'
    with pytest.raises(errors.InvalidResponse, match="exceeds"):
        streams.parse_event(ServerSentEvent(event="log", data=big))


def test_resume_sends_the_last_accepted_id() -> None:
    state = streams.Resume()
    assert state.headers() == {}
    assert state.accept(event("snapshot"))
    assert state.headers() == {}
    assert state.accept(event("progress", "10-0"))
    assert state.headers() == {"Last-Event-ID": "10-0"}


def test_resume_skips_repeated_and_older_ids() -> None:
    state = streams.Resume(last_id="10-3")
    assert not state.accept(event("progress", "10-3"))
    assert not state.accept(event("progress", "9-99"))
    assert state.accept(event("progress", "10-4"))
    assert state.last_id == "10-4"


def test_a_tail_snapshot_moves_the_resume_point_and_is_never_skipped() -> None:
    state = streams.Resume()
    assert state.accept(event("snapshot", "10-0"))
    assert state.headers() == {"Last-Event-ID": "10-0"}
    # Reconnected with that id: the snapshot as of it starts the connection all the same.
    assert state.accept(event("snapshot", "10-0"))
    assert not state.accept(event("progress", "10-0"))
    assert state.accept(event("progress", "11-0"))
    assert state.last_id == "11-0"


def test_resume_marks_the_end() -> None:
    state = streams.Resume()
    state.accept(event("end", "1-0", phase="Succeeded"))
    assert state.ended


def test_backoff_doubles_to_the_cap_and_restarts_after_an_event() -> None:
    clock = FakeClock()
    state = streams.Resume(give_up_after=1000, clock=clock)
    failure = httpx.ConnectError("refused")
    delays = [state.next_delay(failure) for _ in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    state.accept(event("snapshot"))
    assert state.next_delay(failure) == 0.5


def test_gives_up_after_the_configured_time_without_a_working_connection() -> None:
    clock = FakeClock()
    state = streams.Resume(give_up_after=30, clock=clock)
    state.next_delay(httpx.ConnectError("refused"))
    clock.now += 29
    assert state.next_delay(httpx.ConnectError("refused")) <= 1.0
    clock.now += 1
    with pytest.raises(errors.GatewayUnreachable):
        state.next_delay(httpx.ConnectError("refused"))


def test_events_restart_the_give_up_clock() -> None:
    clock = FakeClock()
    state = streams.Resume(give_up_after=30, clock=clock)
    clock.now += 29
    state.accept(event("progress", "1-0"))
    clock.now += 29
    assert state.next_delay(streams.StreamClosed()) == 0.5


@pytest.mark.parametrize(
    "exc",
    [
        errors.NotFound(404, "not_found", "gone"),
        errors.Unauthorized(401, "unauthorized", "no"),
        errors.InvalidRequest(422, "invalid", "bad id"),
    ],
)
def test_client_errors_are_not_retried(exc: errors.ApiError) -> None:
    with pytest.raises(type(exc)):
        streams.Resume().next_delay(exc)


def test_server_errors_and_early_close_are_retried() -> None:
    state = streams.Resume()
    assert state.next_delay(errors.ServerError(503, "unavailable", "restarting")) > 0
    assert state.next_delay(streams.StreamClosed()) > 0


def make_task(phase: resource.Phase) -> wire.Task:
    return wire.Task.model_validate(sse.task(phase=phase.value, reason="R", message="m"))


def test_outcome_returns_a_succeeded_task() -> None:
    task = make_task(resource.Phase.SUCCEEDED)
    assert streams.outcome(task) is task


@pytest.mark.parametrize(
    ("phase", "error"),
    [(resource.Phase.FAILED, errors.TaskFailed), (resource.Phase.CANCELLED, errors.TaskCancelled)],
)
def test_outcome_raises_for_failed_and_cancelled(
    phase: resource.Phase, error: type[errors.TaskError]
) -> None:
    with pytest.raises(error) as info:
        streams.outcome(make_task(phase))
    assert info.value.task.phase is phase
    assert "ns/t1" in str(info.value)


def test_final_view_takes_the_end_phase_when_the_status_lags() -> None:
    lagging = make_task(resource.Phase.RUNNING)
    ended = taskstate.TaskState(phase=resource.Phase.FAILED, ended=True)
    assert streams.final_view(lagging, ended).phase is resource.Phase.FAILED
    assert streams.final_view(lagging, taskstate.TaskState()).phase is resource.Phase.RUNNING
    done = make_task(resource.Phase.SUCCEEDED)
    assert streams.final_view(done, ended).phase is resource.Phase.SUCCEEDED


def test_each_event_carries_the_state_the_follow_knows() -> None:
    state = streams.Resume()
    data = sse.snapshot(progress=40, message="half", attempt=1).decode().split("data: ", 1)[1]
    snapshot = state.accept(streams.parse_event(ServerSentEvent(event="snapshot", data=data)))
    assert snapshot is not None
    assert (snapshot.state.phase, snapshot.state.progress, snapshot.state.message) == (
        resource.Phase.RUNNING,
        40,
        "half",
    )
    progress = state.accept(event("progress", "1-0", progress=60, message="more", attempt=1))
    line = state.accept(event("log", "2-0", message="an output line", attempt=1))
    end = state.accept(event("end", "3-0", phase="Succeeded", message="done", attempt=1))
    assert progress is not None and line is not None and end is not None
    assert (progress.state.progress, progress.state.message) == (60, "more")
    assert line.state.message == "more"  # an output line is not the task's message
    assert end.state.final and end.state.ended and end.state.latest_message == "done"
    assert state.known is end.state and state.ended


def test_decoder_gives_events_their_own_ids_only() -> None:
    decoder = streams.Decoder()
    # httpx-sse carries the last id over to messages without an id line.
    messages = [
        ServerSentEvent(event="", data="", id="", retry=2000),  # the retry hint
        ServerSentEvent(event="snapshot", data=sse.snapshot().decode().split("data: ")[1].strip()),
        ServerSentEvent(event="progress", data='{"type":"progress"}', id="5-0"),
        ServerSentEvent(event="status", data='{"type":"status","source":"watch"}', id="5-0"),
        ServerSentEvent(event="end", data='{"type":"end","phase":"Succeeded"}', id="6-0"),
    ]
    got = [decoder.feed(m) for m in messages]
    assert got[0] is None
    assert [(e.type, e.id) for e in got[1:] if e is not None] == [
        ("snapshot", None),
        ("progress", "5-0"),
        ("status", None),
        ("end", "6-0"),
    ]


def test_an_id_less_event_after_an_entry_is_not_taken_for_a_repeat() -> None:
    state = streams.Resume()
    decoder = streams.Decoder()
    first = decoder.feed(ServerSentEvent(event="progress", data='{"type":"progress"}', id="5-0"))
    watch = decoder.feed(ServerSentEvent(event="end", data='{"type":"end"}', id="5-0"))
    assert first is not None and watch is not None
    assert state.accept(first) and state.accept(watch)
    assert state.ended


def test_backoff_does_not_overflow_after_many_failures() -> None:
    state = streams.Resume(give_up_after=1e9)
    for _ in range(2000):
        delay = state.next_delay(httpx.ConnectError("refused"))
    assert delay == 5.0
