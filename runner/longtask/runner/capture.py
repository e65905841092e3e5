"""Copies a Python task's `print` output into the task's log stream (it still reaches stdout).

Command tasks get this from the line protocol; for Python tasks the runner wraps `sys.stdout`
for the duration of the task. Partial lines are buffered until their newline, per writer, under
a lock (a task may print from several threads).
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Final, TextIO

# Of a longer line, this much is handed on (marked as cut, see `outbox.cut_marker`); the rest
# is counted and dropped (stdout itself still gets all of it).
MAX_PARTIAL_CHARS: Final = 64 * 1024


class LineTee(io.TextIOBase):
    """A text stream that writes through to `target` and hands each complete line to `on_line`."""

    def __init__(self, target: TextIO, on_line: Callable[[str, int | None], None]) -> None:
        super().__init__()
        self._target = target
        self._on_line = on_line
        self._partial = ""
        self._dropped: int | None = None  # bytes dropped of the current line, once it is long
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        written = self._target.write(text)
        lines: list[tuple[str, int | None]] = []
        with self._lock:
            rest = text
            while rest:
                piece, newline, rest = rest.partition("\n")
                room = MAX_PARTIAL_CHARS - len(self._partial)
                self._partial += piece[:room]
                if len(piece) > room:
                    self._dropped = (self._dropped or 0) + len(piece[room:].encode())
                if newline:
                    lines.append(self._take())
        for line, cut in lines:
            self._on_line(line.removesuffix("\r"), cut)
        return written

    def _take(self) -> tuple[str, int | None]:
        """The line so far, and its size in bytes when it was longer than what was kept."""
        line, dropped = self._partial, self._dropped
        self._partial, self._dropped = "", None
        return line, None if dropped is None else len(line.encode()) + dropped

    def flush(self) -> None:
        self._target.flush()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._target.encoding

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    def close_partial(self) -> None:
        """Hands on an unterminated last line."""
        with self._lock:
            partial, cut = self._take()
        if partial:
            self._on_line(partial, cut)


@contextlib.contextmanager
def stdout_lines(on_line: Callable[[str, int | None], None]) -> Iterator[LineTee]:
    """Tees `sys.stdout` into `on_line` while the block runs."""
    original = sys.stdout
    tee = LineTee(original, on_line)
    sys.stdout = tee
    try:
        yield tee
    finally:
        sys.stdout = original
        tee.close_partial()
