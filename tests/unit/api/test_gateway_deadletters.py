"""Dead-letter entries as the gateway lists them: read through core's typed entry."""

from __future__ import annotations

from longtask.api.routers.deadletters import dead_letter
from longtask.core import deadletters

LETTER = deadletters.DeadLetter(
    namespace="ns", name="t", uid="u", attempts=3, reason="AttemptFailed", error="boom", ts=5
)


def test_an_operator_entry_is_shown_typed_with_its_raw_fields() -> None:
    fields = {k.encode(): v.encode() for k, v in deadletters.encode(LETTER).items()}
    shown = dead_letter("1-0", fields)
    assert (shown.id, shown.name, shown.attempts, shown.ts, shown.error) == (
        "1-0",
        "t",
        3,
        5,
        "boom",
    )
    assert shown.fields == deadletters.encode(LETTER)


def test_an_entry_of_another_shape_shows_what_it_has() -> None:
    shown = dead_letter("2-0", {"namespace": "ns", "name": "t", "attempts": "many"})
    assert (shown.namespace, shown.name, shown.attempts, shown.uid) == ("ns", "t", None, None)
    assert shown.fields == {"namespace": "ns", "name": "t", "attempts": "many"}
