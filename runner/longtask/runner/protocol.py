"""The stdout line protocol of command tasks, as pure functions.

A command reports progress by printing `::progress <0-100> <message>`, output chunks with
`::output <text>` (the rest of the line after one space, verbatim) or `::output-json <json>` (a
JSON value: a string with newlines, an object per document), and its result with
`::result <json>`. Every other line is ordinary output: it passes through to the pod log and the
task's log stream unchanged.

A protocol line (the prefix, then a space) that does not parse is a `ProtocolError`: it passes
through like output and the runner says what is wrong with it in the log, so a typo in a script
shows up instead of vanishing. A bad `::progress` leaves the progress as it was, a bad
`::output-json` outputs nothing (the command goes on); a bad `::result`
(not JSON, or a number the API server cannot store: NaN, Infinity, 1e400, an integer beyond 64
bits) is fatal: the attempt cannot succeed without the result it meant to report.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Any, Final

from longtask.core import jsonvalues

PROGRESS_PREFIX: Final = "::progress"
RESULT_PREFIX: Final = "::result"
OUTPUT_PREFIX: Final = "::output"
OUTPUT_JSON_PREFIX: Final = "::output-json"
# Longest line read whole (a `::result` line must fit); of a longer line the runner keeps this
# much, marked as cut (see `LineSplitter`).
MAX_LINE_BYTES: Final = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Progress:
    percent: float
    message: str


@dataclasses.dataclass(frozen=True)
class Result:
    value: Any


@dataclasses.dataclass(frozen=True)
class Output:
    line: str


@dataclasses.dataclass(frozen=True)
class Chunk:
    """An output chunk: text, or a JSON value (`is_json`)."""

    value: Any
    is_json: bool = False


@dataclasses.dataclass(frozen=True)
class ProtocolError:
    """A protocol line that does not parse: what is wrong, and whether the attempt can still
    succeed (`fatal`: a `::result` that cannot be the result)."""

    line: str
    message: str
    fatal: bool = False


Line = Progress | Result | Chunk | Output | ProtocolError


def parse(line: str) -> Line:
    """What one output line (without its newline) means."""
    if _is_protocol(line, PROGRESS_PREFIX):
        return _progress(line)
    if _is_protocol(line, RESULT_PREFIX):
        return _result(line)
    if _is_protocol(line, OUTPUT_PREFIX):
        return Chunk(line[len(OUTPUT_PREFIX) + 1 :])
    if _is_protocol(line, OUTPUT_JSON_PREFIX):
        return _output_json(line)
    return Output(line)


def parse_cut(line: str) -> Output | ProtocolError:
    """What the start of a line longer than `MAX_LINE_BYTES` means: output, unless it is a
    `::result`, which cannot be read whole (a fatal protocol error)."""
    if _is_protocol(line, RESULT_PREFIX):
        message = f"a ::result line may hold at most {MAX_LINE_BYTES} bytes"
        return ProtocolError(line[:64] + "…", message, fatal=True)
    for prefix in (OUTPUT_PREFIX, OUTPUT_JSON_PREFIX):
        if _is_protocol(line, prefix):
            message = f"a {prefix} line may hold at most {MAX_LINE_BYTES} bytes; nothing output"
            return ProtocolError(line[:64] + "…", message)
    return Output(line)


def _is_protocol(line: str, prefix: str) -> bool:
    """The prefix alone or followed by whitespace ("::progressive" is output)."""
    return line.startswith(prefix) and (len(line) == len(prefix) or line[len(prefix)].isspace())


def _progress(line: str) -> Progress | ProtocolError:
    parts = line[len(PROGRESS_PREFIX) :].strip().split(None, 1)
    shown = repr(parts[0][:32]) if parts else "nothing"
    needed = f"::progress needs a number from 0 to 100, got {shown}; progress unchanged"
    try:
        percent = float(parts[0]) if parts else math.nan
    except ValueError:
        return ProtocolError(line, needed)
    if not math.isfinite(percent) or not 0 <= percent <= 100:
        return ProtocolError(line, needed)
    return Progress(percent, parts[1].strip() if len(parts) > 1 else "")


def _result(line: str) -> Result | ProtocolError:
    try:
        value = jsonvalues.loads(line[len(RESULT_PREFIX) :])
    except (ValueError, RecursionError) as exc:
        return ProtocolError(line, f"::result needs one JSON value: {exc}", fatal=True)
    if found := jsonvalues.problems(value, limit=1):
        message = f"::result: {found[0].where('result')}: {found[0].message}"
        return ProtocolError(line, message, fatal=True)
    return Result(value)


def _output_json(line: str) -> Chunk | ProtocolError:
    try:
        value = jsonvalues.loads(line[len(OUTPUT_JSON_PREFIX) :])
    except (ValueError, RecursionError) as exc:
        return ProtocolError(line, f"::output-json needs one JSON value: {exc}; nothing output")
    if found := jsonvalues.problems(value, limit=1):
        message = f"::output-json: {found[0].where('chunk')}: {found[0].message}; nothing output"
        return ProtocolError(line, message)
    return Chunk(value, is_json=True)


class LineSplitter:
    """Splits a byte stream into text lines, keeping at most `max_bytes` of each.

    Yields `(text, cut)`: `cut` is None for a whole line, else the size in bytes of the line
    whose first `max_bytes` `text` holds. The rest of a longer line is counted and dropped, so a
    child that never prints a newline cannot make the runner buffer without bound. Invalid UTF-8
    is replaced, not fatal.
    """

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_bytes
        self._buffer = bytearray()
        self._kept: str | None = None  # the start of a line being dropped
        self._size = 0  # bytes of that line so far

    def feed(self, chunk: bytes) -> Iterator[tuple[str, int | None]]:
        self._buffer += chunk
        start = 0
        while True:
            if self._kept is not None:  # inside an overlong line: drop until its newline
                end = self._buffer.find(b"\n", start)
                stop = len(self._buffer) if end == -1 else end
                self._size += stop - start
                start = stop
                if end == -1:
                    break
                yield self._kept, self._size
                self._kept, start = None, end + 1
                continue
            end = self._buffer.find(b"\n", start, start + self._max + 1)
            if end == -1:
                if len(self._buffer) - start > self._max:
                    self._kept = _text(self._buffer[start : start + self._max])
                    self._size = self._max
                    start += self._max
                    continue
                break
            yield _text(self._buffer[start:end]), None
            start = end + 1
        del self._buffer[:start]

    def close(self) -> Iterator[tuple[str, int | None]]:
        """The last line when the stream ended without a newline."""
        if self._kept is not None:
            yield self._kept, self._size + len(self._buffer)
            self._kept = None
        elif self._buffer:
            yield _text(self._buffer), None
        self._buffer.clear()


def _text(raw: bytes | bytearray) -> str:
    return bytes(raw).decode("utf-8", errors="replace").removesuffix("\r")
