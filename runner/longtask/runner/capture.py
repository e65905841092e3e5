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

# A line without a newline is passed on once it reaches this size.
MAX_PARTIAL_CHARS: Final = 64 * 1024


class LineTee(io.TextIOBase):
    """A text stream that writes through to `target` and hands each complete line to `on_line`."""

    def __init__(self, target: TextIO, on_line: Callable[[str], None]) -> None:
        super().__init__()
        self._target = target
        self._on_line = on_line
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        written = self._target.write(text)
        with self._lock:
            buffered = self._partial + text
            *lines, self._partial = buffered.split("\n")
            if len(self._partial) >= MAX_PARTIAL_CHARS:
                lines.append(self._partial)
                self._partial = ""
        for line in lines:
            self._on_line(line.removesuffix("\r"))
        return written

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
            partial, self._partial = self._partial, ""
        if partial:
            self._on_line(partial)


@contextlib.contextmanager
def stdout_lines(on_line: Callable[[str], None]) -> Iterator[LineTee]:
    """Tees `sys.stdout` into `on_line` while the block runs."""
    original = sys.stdout
    tee = LineTee(original, on_line)
    sys.stdout = tee
    try:
        yield tee
    finally:
        sys.stdout = original
        tee.close_partial()
