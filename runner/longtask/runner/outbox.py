"""The outbox: what the reporter's next Redis flush writes, built from what the task reported.

Producers add log lines (bounded, oldest dropped first) and output chunks (never dropped: the
runner's output limits bound them, see `core.outputs`); progress and checkpoints are read from
their `Latest` slots when a flush is built (coalescing, see `throttling`). What a failed flush
carried stays pending and is merged with newer reports, so an outage loses intermediate
progress values (by design) but never the newest value, the newest checkpoint, the newest
`LOG_BUFFER_LINES` log lines or any output chunk.

A progress value that a flush would skip only because the reporter ran late (a call before the
previous one was written) goes out with the newest, as long as the progress events written stay
within their rate (`keep_between`, a token bucket): a task that reports at most that rate has
every value written despite scheduling jitter, a faster one has the newest only.

A checkpoint goes into a flush only with or after every chunk before the output position it
records: a next attempt that resumes from it finds all of the output it continues.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Final

from longtask.core import events, keys, outputs
from longtask.runner import throttling

LOG_BUFFER_LINES: Final = 10_000  # log lines kept while Redis is unreachable
# Longer log lines are cut to this many characters, with `cut_marker` (the default of the
# runner's LONGTASK_LOG_LINE_MAX_CHARS, which the operator sets).
LOG_LINE_MAX_CHARS: Final = 8192
FLUSH_MAX_LOG_LINES: Final = 2_000  # log lines per pipeline; the rest go in the next flush
FLUSH_MAX_OUTPUTS: Final = 2_000  # output events per pipeline; the rest go in the next flush
KEPT_BETWEEN: Final = 3  # progress values kept before the newest when the reporter ran late

Progress = tuple[float, str]
LogLine = tuple[int, str]  # (unix ms, text)
# A stored checkpoint (`outputs.encode_checkpoint`) and the output `seq` it covers.
Checkpoint = tuple[str, int]
# An output or retract event (it goes to the event stream and to the output stream).
OutputEvent = events.OutputEvent | events.RetractEvent
Position = outputs.Position
# An output or retract event, and the output position after it.
OutputWrite = tuple[OutputEvent, Position]


@dataclasses.dataclass
class Batch:
    """What one flush writes, in one pipeline round trip."""

    events: list[events.Event] = dataclasses.field(default_factory=list)
    logs: list[str] = dataclasses.field(default_factory=list)
    output_events: list[OutputEvent] = dataclasses.field(default_factory=list)
    """Also in `events`: they go to the output stream as well."""
    output_head: Position | None = None
    """The output position after `outputs`."""
    state: dict[str, str | int | float] = dataclasses.field(default_factory=dict)
    checkpoint: str | None = None
    refresh_ttl: bool = False

    def __bool__(self) -> bool:
        return bool(self.events or self.logs or self.state or self.checkpoint is not None)


def cut_marker(kept_chars: int, size_bytes: int) -> str:
    """What follows the start of a cut line: how much of how much was kept."""
    return f" …[longtask: line cut to its first {kept_chars:,} characters of {size_bytes:,} bytes]"


class Outbox:
    """Pending writes of one attempt. `add_log` is safe from any thread; the rest runs on the
    reporter's loop."""

    def __init__(
        self,
        attempt: int,
        progress: throttling.Latest[Progress],
        checkpoint: throttling.Latest[Checkpoint],
        line_max_chars: int = LOG_LINE_MAX_CHARS,
        keep_between: throttling.Throttle | None = None,
    ) -> None:
        """`keep_between`: the rate of progress events within which values reported between
        two flushes are all written (needs `progress` to be a `throttling.Recent`)."""
        self._attempt = attempt
        self._line_max = line_max_chars
        self._progress = throttling.Cursor(progress)
        self._recent = progress if isinstance(progress, throttling.Recent) else None
        self._counted = 0  # the number of the newest progress value collected
        self._keep_between = keep_between
        self._skipped: list[Progress] = []  # values before the newest, not written yet
        self._checkpoint = throttling.Cursor(checkpoint)
        # Two bounded buffers: producers append to `_incoming` (never blocking), the loop moves
        # lines to `_logs` where they wait for a successful flush.
        self._incoming: collections.deque[LogLine] = collections.deque(maxlen=LOG_BUFFER_LINES)
        self._logs: collections.deque[LogLine] = collections.deque(maxlen=LOG_BUFFER_LINES)
        # Output events wait here until written (choice in the module docstring): unbounded
        # in count, bounded by the output limits the producer checks.
        self._outputs: collections.deque[OutputWrite] = collections.deque()
        self._pending_progress: Progress | None = None
        self._pending_checkpoint: Checkpoint | None = None
        self._heartbeat = False
        self.logs_dropped = 0

    # -- producers ----------------------------------------------------------------------------

    def add_log(self, line: str, cut: int | None = None) -> None:
        """Queue an output line; `cut`: the line was longer, `line` is its start and `cut` its
        size in bytes. A line cut here or before carries `cut_marker`."""
        if cut is not None or len(line) > self._line_max:
            size = cut if cut is not None else len(line.encode())
            kept = line[: self._line_max]
            line = kept + cut_marker(len(kept), size)
        if len(self._incoming) == LOG_BUFFER_LINES:
            self.logs_dropped += 1  # the oldest line makes room
        self._incoming.append((events.now_ms(), line))

    def add_output(self, write: OutputWrite) -> None:
        """Queue an output or retract event (safe from any thread: one deque append)."""
        self._outputs.append(write)

    def heartbeat_due(self) -> None:
        self._heartbeat = True

    # -- the reporter's loop ------------------------------------------------------------------

    @property
    def shown(self) -> Progress | None:
        """The progress last put into a flush (what Redis shows, or will once it is back)."""
        return self._progress.taken

    def has_more(self) -> bool:
        """Log lines or output events wait beyond what one flush carries."""
        return bool(self._incoming or self._logs or self._outputs)

    def collect(self) -> None:
        """Moves what producers reported into the pending flush."""
        while self._incoming:
            if len(self._logs) == LOG_BUFFER_LINES:
                self.logs_dropped += 1
            self._logs.append(self._incoming.popleft())
        progress = self._progress.take()
        if progress is not None:
            self._skipped = (self._skipped + self._older_than(progress))[-KEPT_BETWEEN:]
            self._pending_progress = progress
        checkpoint = self._checkpoint.take()
        if checkpoint is not None:
            self._pending_checkpoint = checkpoint

    def _older_than(self, progress: Progress) -> list[Progress]:
        """The values reported since the last collect before `progress` (the newest taken)."""
        if self._recent is None:
            return []
        recent = self._recent.since(self._counted)
        for index in range(len(recent) - 1, -1, -1):
            number, value = recent[index]
            if value is progress:
                self._counted = number
                older = [v for _, v in recent[:index] if v != progress]
                return [v for i, v in enumerate(older) if i == 0 or v != older[i - 1]]
        return []

    def batch(self, final: bool = False, extra: list[events.Event] | None = None) -> Batch:
        """The pending writes as one pipeline's worth; `final` takes every log line."""
        attempt = self._attempt
        batch = Batch(refresh_ttl=self._heartbeat or final)
        count = len(self._logs) if final else min(len(self._logs), FLUSH_MAX_LOG_LINES)
        for index in range(count):
            ts, line = self._logs[index]
            batch.logs.append(line)
            batch.events.append(events.log(attempt, line, ts))
        # A snapshot of the deque's length: producers may append meanwhile.
        waiting = len(self._outputs)
        count = waiting if final else min(waiting, FLUSH_MAX_OUTPUTS)
        for index in range(count):
            event, head = self._outputs[index]
            batch.output_events.append(event)
            batch.output_head = head
        batch.events.extend(batch.output_events)
        if self._pending_checkpoint is not None:
            stored, covers = self._pending_checkpoint
            if count == waiting or covers <= self._outputs[count][0]["seq"]:
                batch.checkpoint = stored
        latest = self._pending_progress
        if latest is not None:
            budget = self._keep_between
            for value in self._skipped:
                if budget is not None and budget.delay() == 0.0:
                    budget.mark()
                    batch.events.append(events.progress(attempt, *value))
            if budget is not None:
                budget.mark()  # the newest always goes, and counts (when the flush is built)
            batch.events.append(events.progress(attempt, *latest))
        shown = self.shown
        if self._heartbeat:
            batch.events.append(events.heartbeat(attempt, *(shown or (None, None))))
        batch.events.extend(extra or [])
        if batch.events or batch.checkpoint is not None:
            batch.state = {keys.STATE_ATTEMPT: attempt, keys.STATE_HEARTBEAT: events.now_ms()}
            if shown is not None:
                batch.state[keys.STATE_PROGRESS] = shown[0]
                batch.state[keys.STATE_MESSAGE] = shown[1]
        return batch

    def flushed(self, batch: Batch) -> None:
        """Forgets what `batch` carried, after Redis took it."""
        for _ in batch.logs:
            self._logs.popleft()
        for _ in batch.output_events:
            self._outputs.popleft()
        self._pending_progress = None
        self._skipped = []
        self._heartbeat = False
        if self._pending_checkpoint is not None and self._pending_checkpoint[0] == batch.checkpoint:
            self._pending_checkpoint = None
