"""The live view of one task: a rich progress bar on a terminal, progress lines otherwise.

`Watched` is what is shown: what the client's follow knows of the task (each event carries it,
folded by core's one fold; the CLI folds nothing itself) and when the task started and ended.
The follow starts from the task's current state (a tail follow), so nothing shown goes back.
`BarView` draws it as one bar line, `LineView` prints a line when something worth a line changed
(phase, attempt, 5 points of progress, a message while progress stands still), so logs stay
short.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from longtask.cli import output
from longtask.client import TaskEvent
from longtask.core import taskstate
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn
from rich.progress import Task as BarTask
from rich.text import Text

LINE_STEP: Final = 5.0  # progress points between two plain lines


@dataclass
class Watched:
    """What is shown of the followed task."""

    namespace: str
    name: str
    known: taskstate.TaskState = field(default_factory=taskstate.TaskState)
    started_at: float = field(default_factory=time.time)  # unix seconds
    finished_at: float | None = None

    @property
    def phase(self) -> str:
        return self.known.phase.value

    @property
    def progress(self) -> float | None:
        return self.known.progress

    @property
    def message(self) -> str | None:
        """The task's message or the operator's latest explanation, whichever came last."""
        return self.known.latest_message

    @property
    def attempt(self) -> int | None:
        return self.known.attempt

    @property
    def final(self) -> bool:
        return self.known.final

    @property
    def percent(self) -> float:
        return min(100.0, max(0.0, self.progress or 0.0))

    def elapsed(self, now: float | None = None) -> float:
        end = self.finished_at if self.finished_at is not None else (now or time.time())
        return max(0.0, end - self.started_at)

    def apply(self, event: TaskEvent) -> None:
        self.known = event.state
        if event.task is not None:
            task = event.task
            start = task.start_time or task.created_at
            if start is not None:
                self.started_at = _unix(start)
            if task.completion_time is not None:
                self.finished_at = _unix(task.completion_time)
        if event.is_end and self.finished_at is None:
            self.finished_at = time.time()

    def line(self) -> str:
        """The plain-text line of the current state."""
        parts = [f"{self.namespace}/{self.name}", self.phase, output.percent(self.progress)]
        if self.attempt:
            parts.append(f"attempt {self.attempt}")
        parts.append(output.duration(self.elapsed()))
        text = " ".join(parts)
        return f"{text}  {self.message}" if self.message else text


def _unix(value: datetime) -> float:
    return value.timestamp()


class View(Protocol):
    def show(self, state: Watched) -> None: ...

    def close(self, state: Watched) -> None: ...


class ElapsedColumn(ProgressColumn):
    """The task's own elapsed time (since it started, not since the view opened)."""

    def render(self, task: BarTask) -> Text:
        state: Watched | None = task.fields.get("state")
        return Text(output.duration(state.elapsed()) if state else "-", style="progress.elapsed")


class BarView:
    """One rich progress bar: name, bar, percent, phase, attempt, elapsed, message."""

    def __init__(self, console: Console, state: Watched) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="•"),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[phase]}"),
            TextColumn("{task.fields[attempt]}"),
            ElapsedColumn(),
            TextColumn("{task.fields[message]}"),
            console=console,
            transient=False,
            refresh_per_second=8,
        )
        self._bar = self._progress.add_task(state.name, total=100)
        self.show(state)
        self._progress.start()

    def show(self, state: Watched) -> None:
        self._progress.update(
            self._bar,
            completed=state.percent,
            phase=state.phase,
            attempt=f"attempt {state.attempt}" if state.attempt else "",
            message=output.shorten(state.message),
            state=state,
        )

    def close(self, state: Watched) -> None:
        self.show(state)
        self._progress.stop()


class LineView:
    """Plain lines for logs and pipes: one when the phase or the attempt changes, when progress
    moved LINE_STEP points, or when the message changes while progress stands still (a message
    that comes with a progress step waits for the next line that is due)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._printed: tuple[str, int | None, float | None, str | None] | None = None
        self._seen_progress: float | None = None

    def show(self, state: Watched) -> None:
        standing = state.progress == self._seen_progress
        self._seen_progress = state.progress
        if self._printed is None:
            self._print(state)
            return
        phase, attempt, progress, message = self._printed
        moved = state.progress is not None and (
            progress is None or abs(state.progress - progress) >= LINE_STEP
        )
        said = state.message != message and standing
        if (state.phase, state.attempt) != (phase, attempt) or moved or said:
            self._print(state)

    def close(self, state: Watched) -> None:
        if self._printed != (state.phase, state.attempt, state.progress, state.message):
            self._print(state)

    def _print(self, state: Watched) -> None:
        self._printed = (state.phase, state.attempt, state.progress, state.message)
        self._console.print(state.line(), markup=False, highlight=False, soft_wrap=True)


def open_view(console: Console, state: Watched) -> View:
    """A bar on a terminal, lines otherwise."""
    return BarView(console, state) if console.is_terminal else LineView(console)
