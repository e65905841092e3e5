"""The stdout line protocol of command tasks, as pure functions.

A command reports progress by printing `::progress <0-100> <message>` and its result with
`::result <json>`. Every other line, and every protocol line that does not parse, is ordinary
output: it passes through to the pod log and the task's log stream unchanged, so a typo in a
script shows up in its logs instead of vanishing.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from typing import Any, Final

PROGRESS_PREFIX: Final = "::progress"
RESULT_PREFIX: Final = "::result"
# Longest line kept whole (a `::result` line must fit); longer lines are cut into pieces.
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


Line = Progress | Result | Output


def parse(line: str) -> Line:
    """What one output line (without its newline) means."""
    if line.startswith(PROGRESS_PREFIX):
        return _progress(line) or Output(line)
    if line.startswith(RESULT_PREFIX):
        return _result(line) or Output(line)
    return Output(line)


def _progress(line: str) -> Progress | None:
    rest = line[len(PROGRESS_PREFIX) :]
    if not rest[:1].isspace():
        return None  # "::progressive" or a bare "::progress"
    parts = rest.strip().split(None, 1)
    if not parts:
        return None
    try:
        percent = float(parts[0])
    except ValueError:
        return None
    if not math.isfinite(percent) or not 0 <= percent <= 100:
        return None
    return Progress(percent, parts[1].strip() if len(parts) > 1 else "")


def _result(line: str) -> Result | None:
    rest = line[len(RESULT_PREFIX) :]
    if not rest[:1].isspace():
        return None
    try:
        return Result(json.loads(rest))
    except ValueError:
        return None


class LineSplitter:
    """Splits a byte stream into text lines, each at most `max_bytes` long.

    A longer line is cut at `max_bytes` (each piece is a line), so a child that never prints a
    newline cannot make the runner buffer without bound. Invalid UTF-8 is replaced, not fatal.
    """

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_bytes
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[str]:
        self._buffer += chunk
        start = 0
        while True:
            end = self._buffer.find(b"\n", start, start + self._max + 1)
            if end == -1:
                if len(self._buffer) - start > self._max:
                    yield _text(self._buffer[start : start + self._max])
                    start += self._max
                    continue
                break
            yield _text(self._buffer[start:end])
            start = end + 1
        del self._buffer[:start]

    def close(self) -> Iterator[str]:
        """The last line when the stream ended without a newline."""
        if self._buffer:
            yield _text(self._buffer)
            self._buffer.clear()


def _text(raw: bytes | bytearray) -> str:
    return bytes(raw).decode("utf-8", errors="replace").removesuffix("\r")
