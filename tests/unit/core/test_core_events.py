"""The events of a task's stream: one constructor per type, encoding, SSE names."""

from __future__ import annotations

import json
import typing

import pytest
from longtask.core import events
from longtask.core.events import EventType, SseEvent
from longtask.core.resource import Phase, Reason


def test_each_constructor_writes_its_type_and_the_common_fields() -> None:
    made: list[events.Event] = [
        events.progress(2, 40.0, "x"),
        events.heartbeat(2),
        events.result(2, {"n": 1}),
        events.log(2, "line", ts=5),
        events.output(2, 0, "token"),
        events.retract(2, 0, 3, resumed=False),
        events.status(2, Phase.RUNNING, Reason.POD_RUNNING, "m"),
        events.end(2, Phase.SUCCEEDED, Reason.COMPLETED, "done"),
    ]
    assert [e["type"] for e in made] == list(EventType)
    assert all(e["attempt"] == 2 and isinstance(e["ts"], int) for e in made)


def test_every_payload_type_names_its_event_type() -> None:
    for payload in typing.get_args(events.Event):
        literal = typing.get_type_hints(payload)["type"]
        assert len(typing.get_args(literal)) == 1
        assert typing.get_args(literal)[0] in EventType


def test_optional_fields_are_left_out_rather_than_null() -> None:
    assert set(events.heartbeat(1)) == {"type", "ts", "attempt"}
    assert set(events.end(1, None)) == {"type", "ts", "attempt"}
    assert events.heartbeat(1, 30.0, "m") | {"ts": 0} == {
        "type": "heartbeat",
        "ts": 0,
        "attempt": 1,
        "progress": 30.0,
        "message": "m",
    }


def test_end_carries_the_gateway_flags_only_when_set() -> None:
    end = events.end(3, Phase.FAILED, synthetic=True, source=events.SOURCE_WATCH)
    assert end["phase"] == "Failed" and end["synthetic"] is True and end["source"] == "watch"
    assert "deleted" not in end


def test_encode_and_decode_round_trip_with_plain_strings() -> None:
    event = events.status(1, Phase.RETRYING, Reason.BACKOFF, "again")
    fields = events.encode(event)
    assert list(fields) == [events.DATA_FIELD]
    assert json.loads(fields[events.DATA_FIELD])["type"] == "status"
    decoded = events.decode({k.encode(): v.encode() for k, v in fields.items()})
    assert decoded == event
    assert type(decoded["phase"]) is str and type(decoded["type"]) is str


def test_decode_keeps_types_it_does_not_know() -> None:
    fields = events.encode({"type": "queue", "ts": 1, "attempt": 0, "position": 4})
    assert events.decode(fields)["position"] == 4


@pytest.mark.parametrize("fields", [{}, {"data": "[1]"}, {"data": '{"ts": 1}'}])
def test_decode_refuses_entries_without_an_event(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        events.decode(fields)


def test_sse_names_are_distinct_and_complete() -> None:
    assert not {e.value for e in EventType} & {e.value for e in SseEvent}
    assert {"snapshot", "progress", "status", "end", "task", "deleted"} <= events.SSE_NAMES
