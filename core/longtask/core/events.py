"""Events of a task's Redis stream: their payloads, their encoding, and the SSE event names.

Each stream entry has one field, `data`, holding compact JSON with at least `type`, `ts` (unix
milliseconds) and `attempt`, and the fields of its type's payload below. The gateway forwards
entries as SSE events whose `event:` is the type and whose `id:` is the stream entry id; the
other names it sends are those of `SseEvent`.

Design choices:
1. A payload is a TypedDict: an event is its JSON object, with no conversion where the gateway
   forwards it, and mypy checks every writer against the type. One constructor per type fills in
   the fields every event has.
2. Readers are lenient: `decode` returns the object as written, whatever its type. A task's runner
   image may be older or newer than the gateway and a newer one may write a type this version does
   not know; the fold of `taskstate` reads each field defensively.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Mapping
from typing import Any, Final, Literal, NotRequired, TypedDict

from .resource import Phase, Reason

DATA_FIELD: Final = "data"
# `source` of the events the gateway derives from the LongTask watch while Redis is unreachable.
SOURCE_WATCH: Final = "watch"


class EventType(enum.StrEnum):
    """`type` of a stream entry, and the SSE event name it is sent under."""

    PROGRESS = "progress"  # runner: progress (0-100) and message
    HEARTBEAT = "heartbeat"  # runner: alive, every few seconds
    RESULT = "result"  # runner: the task's result (or resultRef)
    LOG = "log"  # runner: a log line (also in the logs stream)
    OUTPUT = "output"  # runner: a chunk of the task's output (also in the output stream)
    RETRACT = "retract"  # runner: chunks of an earlier attempt withdrawn (also there)
    STATUS = "status"  # operator: a phase change (phase, reason, message)
    END = "end"  # operator: the task reached a final phase; nothing follows


class SseEvent(enum.StrEnum):
    """SSE event names the gateway sends besides the entry types (EventType); no `id:`."""

    # First event of every connection: the task (task stream) or every task (namespace stream).
    SNAPSHOT = "snapshot"
    # Namespace stream: a task was added or changed (the task as the gateway shows it).
    TASK = "task"
    # Namespace stream: a task was deleted (its name and uid).
    DELETED = "deleted"
    # Namespace stream without a snapshot: the gateway's watch has listed (first, and again
    # after a reconnect or a new LIST), so every later change follows as `task`/`deleted`. A
    # client reads what it shows (a list page) after this event, never before. Data `{}`.
    READY = "ready"
    # A stream entry that holds no event, or whose type is no valid event name.
    UNKNOWN = "unknown"
    # Entries are missing between two ids: the reader's resume point (or log offset) is older
    # than the oldest entry kept (the stream was trimmed), or entries were lost (a Redis
    # failover). Its data is a `GapEvent`.
    GAP = "gap"
    # A queued task's place in its LongTaskQueue changed (position, reason, ETA): derived by the
    # gateway from the queue's snapshots while the task is Queued. Its data is a `QueueEvent`.
    QUEUE = "queue"


# Every `event:` name a client of the gateway may see.
SSE_NAMES: Final = frozenset(EventType) | frozenset(SseEvent)


class _Event(TypedDict):
    ts: int
    """Unix milliseconds, when the writer made the event."""
    attempt: int
    """The attempt it belongs to (1-based; 0 before the first)."""
    source: NotRequired[str]
    """SOURCE_WATCH on events the gateway derived from the LongTask (not stream entries)."""


class ProgressEvent(_Event):
    type: Literal[EventType.PROGRESS]
    progress: float
    """Percent done, 0-100."""
    message: str


class HeartbeatEvent(_Event):
    type: Literal[EventType.HEARTBEAT]
    progress: NotRequired[float]
    """The progress last reported, once there is one."""
    message: NotRequired[str]


class ResultEvent(_Event):
    type: Literal[EventType.RESULT]
    result: NotRequired[Any]
    """The result, when small enough for the status (else resultRef)."""
    resultRef: NotRequired[str]
    """Redis key of a large result."""
    href: NotRequired[str]
    """Gateway (added as it forwards the event): the path that answers the result, any size."""


class LogEvent(_Event):
    type: Literal[EventType.LOG]
    message: str
    """The output line."""


class OutputEvent(_Event):
    type: Literal[EventType.OUTPUT]
    seq: int
    """Place of the chunk in the task's output, from 0 (see `outputs`)."""
    chunk: Any
    """Text, or a JSON value when `json` is true."""
    json: NotRequired[bool]
    """The chunk is a JSON value (`ctx.output` of a non-string, `::output-json`)."""


class RetractEvent(_Event):
    """A new attempt withdraws the chunks of earlier attempts from `seq` on; its own output
    continues at `seq` (see `outputs`)."""

    type: Literal[EventType.RETRACT]
    seq: int
    """The first chunk withdrawn, where this attempt's output goes on."""
    count: int
    """How many chunks were withdrawn (as far as the runner knows)."""
    resumed: bool
    """True: the attempt resumed from a checkpoint and keeps the output up to it. False: it
    starts a new output (no checkpoint), `seq` is 0."""


class StatusEvent(_Event):
    type: Literal[EventType.STATUS]
    phase: str
    """The new phase (a Phase value)."""
    reason: NotRequired[str]
    """Why (a Reason value)."""
    message: NotRequired[str]
    """The operator's explanation of the change."""


class EndEvent(_Event):
    type: Literal[EventType.END]
    phase: NotRequired[str]
    """The final phase (absent on the end of a logs stream)."""
    reason: NotRequired[str]
    message: NotRequired[str]
    synthetic: NotRequired[bool]
    """The gateway ended a final task's stream that held no end event."""
    deleted: NotRequired[bool]
    """The gateway ended the stream because the LongTask was deleted."""


Event = (
    ProgressEvent
    | HeartbeatEvent
    | ResultEvent
    | LogEvent
    | OutputEvent
    | RetractEvent
    | StatusEvent
    | EndEvent
)


class QueueEvent(TypedDict):
    """A queued task's place (SSE `queue`, never a stream entry)."""

    type: Literal[SseEvent.QUEUE]
    ts: int
    """Unix ms of the queue snapshot it comes from."""
    queue: str
    position: int
    """1-based place among the queue's waiting tasks."""
    queued: int
    """How many tasks wait in the queue."""
    running: int
    maxRunning: NotRequired[int]
    reason: str
    """Why it waits: QueueFull, KeyLimit, RateLimited or QueueSuspended (a Reason value)."""
    eta: int | None
    """Estimated start, unix ms (None: unknown, e.g. suspended or no finished attempt yet)."""
    message: str
    """For people: `queued #4 in llm-calls · ~2 min`."""


def queue_message(position: int, queue: str, eta_seconds: float | None) -> str:
    """`queued #4 in llm-calls · ~2 min` (without the ETA when unknown)."""
    text = f"queued #{position} in {queue}"
    if eta_seconds is None:
        return text
    if eta_seconds < 60:
        return f"{text} · ~{max(1, round(eta_seconds))} s"
    if eta_seconds < 3600:
        return f"{text} · ~{round(eta_seconds / 60)} min"
    return f"{text} · ~{eta_seconds / 3600:.1f} h"


class GapEvent(TypedDict):
    """What a reader missed (SSE `gap`, never a stream entry): the entries after `after` and
    before `before` are gone, some or all of them."""

    type: Literal[SseEvent.GAP]
    ts: int
    after: str
    """The reader's resume point: the last id it had (`0-0`: it read from the start)."""
    before: str | None
    """The oldest id still kept, where reading goes on (None: nothing is kept)."""
    skipped: NotRequired[int]
    """How many entries are missing, when that is known."""


def gap(after: str, before: str | None, skipped: int | None = None) -> GapEvent:
    event = GapEvent(type=SseEvent.GAP, ts=now_ms(), after=after, before=before)
    if skipped is not None:
        event["skipped"] = skipped
    return event


def now_ms() -> int:
    return int(time.time() * 1000)


def progress(
    attempt: int, percent: float, message: str, *, source: str | None = None
) -> ProgressEvent:
    event = ProgressEvent(
        type=EventType.PROGRESS, ts=now_ms(), attempt=attempt, progress=percent, message=message
    )
    if source is not None:
        event["source"] = source
    return event


def heartbeat(
    attempt: int, percent: float | None = None, message: str | None = None
) -> HeartbeatEvent:
    """A heartbeat, with the progress last reported when there is one."""
    event = HeartbeatEvent(type=EventType.HEARTBEAT, ts=now_ms(), attempt=attempt)
    if percent is not None:
        event["progress"] = percent
    if message is not None:
        event["message"] = message
    return event


def result(attempt: int, value: Any) -> ResultEvent:
    """The result itself (small enough for the status)."""
    return ResultEvent(type=EventType.RESULT, ts=now_ms(), attempt=attempt, result=value)


def result_ref(attempt: int, ref: str) -> ResultEvent:
    """Where a large result lives in Redis."""
    return ResultEvent(type=EventType.RESULT, ts=now_ms(), attempt=attempt, resultRef=ref)


def log(attempt: int, line: str, ts: int | None = None) -> LogEvent:
    """An output line, stamped `ts` (when it was printed) or now."""
    return LogEvent(
        type=EventType.LOG, ts=now_ms() if ts is None else ts, attempt=attempt, message=line
    )


def output(attempt: int, seq: int, chunk: Any, *, is_json: bool = False) -> OutputEvent:
    """Chunk `seq` of the task's output: text, or a JSON value (`is_json`)."""
    event = OutputEvent(type=EventType.OUTPUT, ts=now_ms(), attempt=attempt, seq=seq, chunk=chunk)
    if is_json:
        event["json"] = True
    return event


def retract(attempt: int, seq: int, count: int, *, resumed: bool) -> RetractEvent:
    """Attempt `attempt` withdraws `count` earlier chunks from `seq` on."""
    return RetractEvent(
        type=EventType.RETRACT,
        ts=now_ms(),
        attempt=attempt,
        seq=seq,
        count=count,
        resumed=resumed,
    )


def status(
    attempt: int,
    phase: Phase,
    reason: Reason | str | None = None,
    message: str | None = None,
    *,
    source: str | None = None,
) -> StatusEvent:
    event = StatusEvent(type=EventType.STATUS, ts=now_ms(), attempt=attempt, phase=phase.value)
    _explain(event, reason, message, source)
    return event


def end(
    attempt: int,
    phase: Phase | None,
    reason: Reason | str | None = None,
    message: str | None = None,
    *,
    synthetic: bool = False,
    deleted: bool = False,
    source: str | None = None,
) -> EndEvent:
    event = EndEvent(type=EventType.END, ts=now_ms(), attempt=attempt)
    if phase is not None:
        event["phase"] = phase.value
    _explain(event, reason, message, source)
    if synthetic:
        event["synthetic"] = True
    if deleted:
        event["deleted"] = True
    return event


def _explain(
    event: StatusEvent | EndEvent,
    reason: Reason | str | None,
    message: str | None,
    source: str | None,
) -> None:
    if reason is not None:
        event["reason"] = str(reason)
    if message is not None:
        event["message"] = message
    if source is not None:
        event["source"] = source


def encode(event: Mapping[str, Any]) -> dict[str, str]:
    """The stream entry (XADD field map) for an event."""
    return {DATA_FIELD: json.dumps(event, separators=(",", ":"), default=str)}


def decode(fields: Mapping[Any, Any]) -> dict[str, Any]:
    """The event of a stream entry, as written; accepts bytes or str keys and values."""
    raw = fields.get(DATA_FIELD, fields.get(DATA_FIELD.encode()))
    if raw is None:
        raise ValueError("stream entry has no data field")
    if isinstance(raw, bytes):
        raw = raw.decode()
    event = json.loads(raw)
    if not isinstance(event, dict) or "type" not in event:
        raise ValueError("stream entry data is not an event object")
    return event
