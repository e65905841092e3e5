"""A task's output: limits, the checkpoint envelope, and the fold of output and retract events."""

from __future__ import annotations

import pytest
from longtask.core import events, outputs


def chunks(attempt: int, start: int, stop: int) -> list[events.OutputEvent]:
    return [events.output(attempt, seq, f"<{seq}>") for seq in range(start, stop)]


def text(start: int, stop: int) -> str:
    return "".join(f"<{seq}>" for seq in range(start, stop))


def test_a_resumed_attempt_continues_the_output_with_no_duplicate_and_no_gap() -> None:
    stream = [
        *chunks(1, 0, 750),
        events.retract(2, 700, 50, resumed=True),
        *chunks(2, 700, 2000),
    ]
    assembly = outputs.assemble(stream)
    assert assembly.text() == text(0, 2000)
    assert assembly.retracted == 50


def test_a_follower_is_told_what_a_retraction_withdrew() -> None:
    assembly = outputs.assemble(chunks(1, 0, 10))
    change = assembly.apply(events.retract(2, 0, 10, resumed=False))
    assert change == outputs.Retraction(seq=0, attempt=2, count=10, resumed=False)
    assert assembly.text() == ""


def test_a_later_attempts_chunk_below_the_end_truncates_without_a_retraction() -> None:
    assembly = outputs.assemble([*chunks(1, 0, 10), *chunks(2, 5, 8)])
    assert assembly.text() == text(0, 8)
    assert [c.attempt for c in assembly.chunks[4:]] == [1, 2, 2, 2]


def test_a_repeated_chunk_is_kept_once_and_a_chunk_after_a_hole_waits() -> None:
    assembly = outputs.assemble(chunks(1, 0, 3))
    assert assembly.apply(events.output(1, 1, "<1>")) is None
    assert assembly.apply(events.output(1, 5, "<5>")) is None
    assert assembly.next_seq == 3


@pytest.mark.parametrize(
    "event",
    [
        {"type": "output", "seq": -1, "attempt": 1, "chunk": "x"},
        {"type": "output", "seq": True, "attempt": 1, "chunk": "x"},
        {"type": "output", "seq": 0, "attempt": "1", "chunk": "x"},
        {"type": "output", "seq": 0, "attempt": 1},
        {"type": "retract", "seq": None, "attempt": 2},
        {"type": "progress", "seq": 0, "attempt": 1, "chunk": "x"},
    ],
)
def test_a_malformed_event_teaches_nothing(event: dict[str, object]) -> None:
    assembly = outputs.Assembly()
    assert assembly.apply(event) is None
    assert assembly.chunks == []


def test_json_chunks_print_as_one_line_each() -> None:
    assembly = outputs.assemble(
        [events.output(1, 0, "a "), events.output(1, 1, {"doc": 1}, is_json=True)]
    )
    assert assembly.text() == 'a {"doc":1}\n'


def test_the_checkpoint_envelope_keeps_the_state_and_the_position() -> None:
    stored = outputs.encode_checkpoint('{"next": 7}', outputs.Position(700, 2100))
    assert outputs.decode_checkpoint(stored) == ('{"next":7}', outputs.Position(700, 2100))


def test_a_checkpoint_of_an_older_runner_has_no_position() -> None:
    assert outputs.decode_checkpoint('{"next": 7}') == ('{"next": 7}', outputs.Position())


@pytest.mark.parametrize(
    ("at", "size", "said"),
    [
        (outputs.Position(), 65, "at most 64 bytes"),
        (outputs.Position(10, 10), 1, "at most 10 chunks"),
        (outputs.Position(3, 990), 20, "at most 1,000 bytes; 990 are written"),
    ],
)
def test_limits_refuse_a_chunk_with_a_clear_error(
    at: outputs.Position, size: int, said: str
) -> None:
    limits = outputs.Limits(chunk_max_bytes=64, output_max_bytes=1000, output_max_chunks=10)
    with pytest.raises(outputs.OutputLimitError, match=said):
        limits.check(at, size)


def test_a_chunk_counts_its_utf8_bytes_or_its_compact_json() -> None:
    assert outputs.chunk_size("é", is_json=False) == 2
    assert outputs.chunk_size({"a": [1, 2]}, is_json=True) == len('{"a":[1,2]}')


def test_a_retraction_read_after_its_own_attempts_chunks_changes_nothing() -> None:
    assembly = outputs.assemble([*chunks(1, 0, 5), *chunks(2, 3, 6)])
    assert assembly.apply(events.retract(2, 3, 2, resumed=True)) is None
    assert assembly.text() == text(0, 6)


def test_the_complete_output_read_after_a_gap_says_what_changed() -> None:
    assembly = outputs.assemble(chunks(1, 0, 10))
    complete = outputs.assemble([*chunks(1, 0, 10), *chunks(2, 7, 12)]).chunks
    changes = assembly.replace(complete)
    assert changes[0] == outputs.Retraction(seq=7, attempt=2, count=3, resumed=True)
    assert [c.seq for c in changes[1:] if isinstance(c, outputs.Chunk)] == [7, 8, 9, 10, 11]
    assert assembly.text() == text(0, 12)
    assert assembly.replace(list(complete)) == []
