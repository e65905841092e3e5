"""SSE encoding: ids only on stream entries, batches, comments, the retry hint."""

from __future__ import annotations

from longtask.api.streaming import sse
from longtask.core import events


def test_entry_frame_carries_stream_id_and_type() -> None:
    fields = events.encode(events.progress(2, 40, "x"))
    frame = sse.entry_frame("17-3", fields)
    assert frame.id == "17-3"
    assert frame.event == "progress"
    assert frame.payload()["progress"] == 40


def test_encode_without_id_has_no_id_line() -> None:
    encoded = sse.encode(sse.frame("snapshot", {"a": 1})).decode()
    assert "id:" not in encoded
    assert encoded == 'event: snapshot\ndata: {"a":1}\n\n'


def test_encode_with_id_and_retry() -> None:
    encoded = sse.encode(sse.Frame("end", "{}", "5-0"), retry_ms=1500).decode()
    assert encoded == "retry: 1500\nid: 5-0\nevent: end\ndata: {}\n\n"


def test_multiline_data_becomes_several_data_lines() -> None:
    encoded = sse.encode(sse.Frame("log", "a\nb")).decode()
    assert "data: a\ndata: b\n\n" in encoded


def test_batch_is_concatenation_in_order() -> None:
    frames = [sse.Frame("progress", "{}", f"{i}-0") for i in range(3)]
    assert sse.encode_batch(frames) == b"".join(sse.encode(f) for f in frames)


def test_malformed_entry_becomes_unknown_event_with_its_id() -> None:
    frame = sse.entry_frame("1-0", {"other": "x"})
    assert (frame.event, frame.id) == ("unknown", "1-0")


def test_event_names_are_sanitised() -> None:
    assert sse.event_name("progress") == "progress"
    assert sse.event_name("bad\nname") == "unknown"
    assert sse.event_name("x" * 40) == "unknown"


def test_comment_lines() -> None:
    assert sse.comment("ping") == b": ping\n\n"


def test_entry_frames_are_encoded_once_and_shared() -> None:
    from longtask.api.streaming.follow import entry_frame
    from longtask.api.streaming.hub import Entry

    entry = Entry("k", "3-0", events.encode(events.progress(1, 5, "")))
    first, second = entry_frame(entry), entry_frame(entry)
    assert first is second
    assert first.wire == sse.encode(sse.Frame(first.event, first.data, first.id))
    assert first.payload()["progress"] == 5
