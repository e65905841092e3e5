"""A task's output: its limits, the position a checkpoint records, and the one fold that turns
`output` and `retract` events into the output.

A task's output is a sequence of chunks (text, or JSON values), numbered from 0 (`seq`) across
the whole task, not per attempt. The runner writes each chunk as an `output` event to the
task's event stream (live, ordered with progress and phase changes, resumable by id) and to its
output stream (`keys.output`: never trimmed, bounded by the limits below, the complete output).

Design choices:
1. Chunks are never coalesced or dropped. Their size and number are bounded instead: the runner
   refuses a chunk past a limit with an error the task sees (`OutputLimitError`), so Redis
   memory stays bounded and nothing is lost silently.
2. A checkpoint records the output position (`Position`) in the same Redis value as the task's
   state (`encode_checkpoint`), so one write moves both and a next attempt can never resume the
   state of one checkpoint with the output position of another.
3. Attempts rewrite, never append blindly. Attempt N > 1 starts at the position of the last
   checkpoint (0 without one) and, when earlier attempts got further, first writes a `retract`
   event: chunks from `seq` on are withdrawn. The fold keeps chunks by `seq` and truncates at a
   retraction, so a follower that saw everything and one that reads the output later assemble
   the same text, and a chunk of a later attempt below the end truncates too (a retraction lost
   with a broken connection cannot leave stale chunks behind). A retraction withdraws earlier
   attempts' chunks only: read after its own attempt's chunks (a follower that filled a gap
   from the output stream), it changes nothing.
4. Defensive, as `taskstate`: a malformed event teaches nothing and nothing raises.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeGuard

from .events import EventType

# Defaults of the runner's limits (the operator may set others, see `runnerenv`).
CHUNK_MAX_BYTES: Final = 64 * 1024
"""Largest chunk: UTF-8 bytes of a text chunk, or of a JSON chunk's compact encoding."""
OUTPUT_MAX_BYTES: Final = 16 * 1024 * 1024
"""Largest output of one task (its chunks' bytes, counted as above)."""
OUTPUT_MAX_CHUNKS: Final = 100_000
"""Most chunks of one task (each costs a stream entry in Redis, whatever its size)."""

# Key of the checkpoint envelope (choice 2); a stored checkpoint without it is a task's state
# written by an older runner, with no output position.
_ENVELOPE: Final = "longtask/checkpoint"


class OutputLimitError(ValueError):
    """A chunk past a limit: too large, or the task's output is full. Nothing was written."""


@dataclasses.dataclass(frozen=True, slots=True)
class Position:
    """How far a task's output got: the next chunk's `seq`, and the bytes before it."""

    seq: int = 0
    bytes: int = 0

    def to_json(self) -> dict[str, int]:
        return {"seq": self.seq, "bytes": self.bytes}

    @classmethod
    def from_json(cls, value: object) -> Position:
        """The position a stored value names; the start for anything malformed."""
        if not isinstance(value, Mapping):
            return cls()
        seq, size = value.get("seq"), value.get("bytes")
        if not (_count(seq) and _count(size)):
            return cls()
        return cls(seq, size)


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    chunk_max_bytes: int = CHUNK_MAX_BYTES
    output_max_bytes: int = OUTPUT_MAX_BYTES
    output_max_chunks: int = OUTPUT_MAX_CHUNKS

    def check(self, at: Position, size: int) -> None:
        """Raises OutputLimitError when a chunk of `size` bytes may not follow `at`."""
        if size > self.chunk_max_bytes:
            raise OutputLimitError(
                f"an output chunk may hold at most {self.chunk_max_bytes:,} bytes, "
                f"this one holds {size:,}"
            )
        if at.seq >= self.output_max_chunks:
            raise OutputLimitError(
                f"a task's output may have at most {self.output_max_chunks:,} chunks"
            )
        if at.bytes + size > self.output_max_bytes:
            raise OutputLimitError(
                f"a task's output may hold at most {self.output_max_bytes:,} bytes; "
                f"{at.bytes:,} are written and this chunk holds {size:,}"
            )


def chunk_size(chunk: Any, is_json: bool) -> int:
    """The bytes a chunk counts for (choice 1)."""
    text = json.dumps(chunk, separators=(",", ":"), allow_nan=False) if is_json else chunk
    return len(str(text).encode())


def encode_checkpoint(state_json: str, at: Position) -> str:
    """The stored checkpoint: the task's state (JSON text) and the output position (choice 2)."""
    return f'{{"{_ENVELOPE}":{json.dumps(at.to_json())},"state":{state_json}}}'


def decode_checkpoint(stored: str) -> tuple[str, Position]:
    """(the task's state as JSON text, the output position) of a stored checkpoint."""
    value = json.loads(stored)
    if isinstance(value, dict) and _ENVELOPE in value and "state" in value:
        state = json.dumps(value["state"], separators=(",", ":"))
        return state, Position.from_json(value[_ENVELOPE])
    return stored, Position()


@dataclasses.dataclass(frozen=True, slots=True)
class Chunk:
    seq: int
    attempt: int
    chunk: Any
    is_json: bool = False

    def text(self) -> str:
        """The chunk as it is printed: text as is, a JSON value on a line of its own."""
        if self.is_json:
            return json.dumps(self.chunk, separators=(",", ":")) + "\n"
        return str(self.chunk)


@dataclasses.dataclass
class Assembly:
    """The output as far as a follower knows it (choice 3). `apply` each event in order."""

    chunks: list[Chunk] = dataclasses.field(default_factory=list)
    retracted: int = 0
    """Chunks withdrawn so far (counted as the follower dropped them)."""

    @property
    def next_seq(self) -> int:
        return len(self.chunks)

    def apply(self, event: Mapping[str, Any]) -> Chunk | Retraction | None:
        """Folds one event in; returns what it changed (None: nothing)."""
        kind = event.get("type")
        seq, attempt = event.get("seq"), event.get("attempt")
        if not (_count(seq) and _count(attempt)):
            return None
        if kind == EventType.RETRACT:
            if seq < len(self.chunks) and self.chunks[seq].attempt >= attempt:
                return None  # its attempt's chunks are here already: it was applied
            return self._truncate(seq, attempt, bool(event.get("resumed")))
        if kind != EventType.OUTPUT or "chunk" not in event:
            return None
        chunk = Chunk(seq, attempt, event["chunk"], bool(event.get("json")))
        if seq < len(self.chunks):
            if attempt <= self.chunks[seq].attempt:
                return None  # already here (a repeat)
            self._truncate(seq, attempt, True)
        if seq > len(self.chunks):
            return None  # chunks are missing before it: the caller reads them first
        self.chunks.append(chunk)
        return chunk

    def _truncate(self, seq: int, attempt: int, resumed: bool) -> Retraction | None:
        count = max(0, len(self.chunks) - seq)
        del self.chunks[seq:]
        self.retracted += count
        return Retraction(seq, attempt, count, resumed)

    def text(self) -> str:
        return "".join(c.text() for c in self.chunks)

    def replace(self, complete: list[Chunk]) -> list[Chunk | Retraction]:
        """Takes in the complete output read anew (after a gap): what changed, as `apply`
        would have said it — a retraction where it diverges from what was known, then the
        chunks that are new."""
        same = 0
        while (
            same < min(len(self.chunks), len(complete))
            and self.chunks[same].attempt == complete[same].attempt
        ):
            same += 1
        changes: list[Chunk | Retraction] = []
        if same < len(self.chunks):
            later = complete[same].attempt if same < len(complete) else self.chunks[same].attempt
            retraction = self._truncate(same, later, True)
            if retraction is not None:
                changes.append(retraction)
        self.chunks.extend(complete[same:])
        changes.extend(complete[same:])
        return changes


@dataclasses.dataclass(frozen=True, slots=True)
class Retraction:
    """Chunks from `seq` on were withdrawn (`count` of them the follower had) as attempt
    `attempt` began; `resumed`: it resumed from a checkpoint, else a new output starts."""

    seq: int
    attempt: int
    count: int
    resumed: bool


def assemble(events: Iterable[Mapping[str, Any]]) -> Assembly:
    """The output that events (of the output stream, in order) describe."""
    assembly = Assembly()
    for event in events:
        assembly.apply(event)
    return assembly


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
