"""Following the local stack's log files the way `docker compose up` shows its services: one
line each, prefixed with the component's name and a colour of its own.

Each component writes its own file (`procs.start`); `Follower.poll` reads what was appended to
each since the last poll, whole lines only (a partial last line waits for its end), and starts
over from the top of a file that was truncated. Colours only on a terminal, and never with
NO_COLOR set (https://no-color.org).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final, TextIO

# The colours docker compose gives its services, in its order (ANSI SGR codes).
COLOURS: Final = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")
BACKLOG_LINES: Final = 10
POLL_SECONDS: Final = 0.2
READ_LIMIT: Final = 1024 * 1024


def colour_wanted(out: TextIO) -> bool:
    return out.isatty() and not os.environ.get("NO_COLOR")


def prefix(name: str, width: int, colour: str | None) -> str:
    """`name` padded to `width`, then `| `, in `colour` when given."""
    text = f"{name.ljust(width)} | "
    return f"\x1b[{colour}m{text}\x1b[0m" if colour else text


@dataclasses.dataclass
class _Source:
    name: str
    path: Path
    prefix: str
    offset: int = 0
    partial: bytes = b""


class Follower:
    """The log files of named components, printed line by line with their prefixes."""

    def __init__(
        self,
        files: Sequence[tuple[str, Path]],
        out: TextIO,
        colour: bool,
        backlog_lines: int = BACKLOG_LINES,
    ) -> None:
        width = max((len(name) for name, _ in files), default=0)
        self._out = out
        self._sources = [
            _Source(name, path, prefix(name, width, COLOURS[i % len(COLOURS)] if colour else None))
            for i, (name, path) in enumerate(files)
        ]
        for source in self._sources:
            self._skip_to_backlog(source, backlog_lines)

    def _skip_to_backlog(self, source: _Source, lines: int) -> None:
        """Start `lines` lines before the end of the file, as `tail -n` does."""
        try:
            data = source.path.read_bytes()[-READ_LIMIT:]
            size = source.path.stat().st_size
        except OSError:
            return
        kept = data.splitlines(keepends=True)[-lines:] if lines else []
        source.offset = size - sum(len(line) for line in kept)

    def poll(self, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Prints every whole line appended since the last poll; returns how many. Asks
        `keep_going` before each line: a flood of output (up to `READ_LIMIT` a file) must not
        hold up a stop."""
        printed = 0
        for prefixed in self._new_lines():
            if not keep_going():
                break
            self._out.write(prefixed + "\n")
            printed += 1
        if printed:
            self._out.flush()
        return printed

    def _new_lines(self) -> Iterator[str]:
        for source in self._sources:
            for line in self._read(source):
                yield source.prefix + line

    def _read(self, source: _Source) -> list[str]:
        try:
            size = source.path.stat().st_size
            if size < source.offset:  # truncated: start over
                source.offset, source.partial = 0, b""
            if size == source.offset:
                return []
            with open(source.path, "rb") as handle:
                handle.seek(source.offset)
                data = handle.read(READ_LIMIT)
        except OSError:
            return []
        source.offset += len(data)
        *lines, source.partial = (source.partial + data).split(b"\n")
        return [line.decode(errors="replace").rstrip("\r") for line in lines]

    def run(self, keep_going: Callable[[], bool] = lambda: True) -> None:
        """Polls until `keep_going` says no (or a KeyboardInterrupt)."""
        while keep_going():
            if not self.poll(keep_going):
                time.sleep(POLL_SECONDS)
