"""Following a task's output over its events: chunks once, retractions, a gap read whole."""

from __future__ import annotations

from typing import Any

from longtask.client import outputfollow, streams
from longtask.core import events, outputs, wire


def event(data: dict[str, Any]) -> streams.TaskEvent:
    return streams.TaskEvent(str(data["type"]), wire.Event.model_validate(data))


def taken(follow: outputfollow.OutputFollow, *data: dict[str, Any]) -> list[Any]:
    return [change for d in data for change in follow.take(event(d))]


def test_chunks_and_a_retraction_arrive_as_the_stream_says() -> None:
    follow = outputfollow.OutputFollow()
    changes = taken(
        follow,
        dict(events.output(1, 0, "a")),
        dict(events.progress(1, 5.0, "x")),
        dict(events.output(1, 1, "b")),
        dict(events.retract(2, 1, 1, resumed=True)),
        dict(events.output(2, 1, "B")),
    )
    assert [type(c).__name__ for c in changes] == ["Chunk", "Chunk", "Retraction", "Chunk"]
    assert follow.assembly.text() == "aB"
    assert not follow.needs_output


def test_a_gap_asks_for_the_whole_output_and_the_fill_says_what_changed() -> None:
    follow = outputfollow.OutputFollow()
    taken(follow, dict(events.output(1, 0, "a")), dict(events.output(1, 1, "b")))
    taken(follow, {"type": "gap", "after": "1-0", "before": "9-0"})
    assert follow.needs_output
    whole = wire.TaskOutput(
        chunks=[
            wire.OutputChunk(seq=0, attempt=1, chunk="a"),
            wire.OutputChunk(seq=1, attempt=2, chunk="B"),
            wire.OutputChunk(seq=2, attempt=2, chunk={"n": 1}, json=True),
        ],
        next=3,
    )
    changes = follow.fill(whole)
    assert changes[0] == outputs.Retraction(seq=1, attempt=2, count=1, resumed=True)
    assert [c.chunk for c in changes[1:] if isinstance(c, outputs.Chunk)] == ["B", {"n": 1}]
    assert follow.assembly.text() == 'aB{"n":1}\n'
    assert not follow.needs_output
    # What the stream says next, already known from the fill, changes nothing.
    assert taken(follow, dict(events.output(2, 2, {"n": 1}, is_json=True))) == []


def test_a_chunk_past_a_hole_asks_for_the_whole_output() -> None:
    follow = outputfollow.OutputFollow()
    assert taken(follow, dict(events.output(1, 3, "d"))) == []
    assert follow.needs_output
