"""Dead-letter entries: flat string fields in Redis, typed on both sides."""

from __future__ import annotations

import pytest
from longtask.core import deadletters
from longtask.core.deadletters import DeadLetter

LETTER = DeadLetter(
    namespace="ns",
    name="t",
    uid="u-1",
    attempts=3,
    reason="AttemptFailed",
    error="the runner exited 1",
    ts=1767268800000,
)


def test_an_entry_is_flat_strings() -> None:
    assert deadletters.encode(LETTER) == {
        "namespace": "ns",
        "name": "t",
        "uid": "u-1",
        "attempts": "3",
        "reason": "AttemptFailed",
        "error": "the runner exited 1",
        "ts": "1767268800000",
    }


def test_decode_reverses_encode_from_bytes_or_text() -> None:
    fields = deadletters.encode(LETTER)
    assert deadletters.decode(fields) == LETTER
    assert deadletters.decode({k.encode(): v.encode() for k, v in fields.items()}) == LETTER


@pytest.mark.parametrize("broken", [{"attempts": "three"}, {"ts": ""}])
def test_decode_refuses_malformed_numbers(broken: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        deadletters.decode(deadletters.encode(LETTER) | broken)


def test_decode_names_a_missing_field() -> None:
    fields = deadletters.encode(LETTER)
    del fields["uid"]
    with pytest.raises(ValueError, match="uid"):
        deadletters.decode(fields)
