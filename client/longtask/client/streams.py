"""Following a task's event stream: typed events, and the resume logic shared by both clients.

Design choices:
1. Resume by id. Only stream entries carry an SSE `id:`; after a dropped connection the client
   reconnects with `Last-Event-ID` = the last id it yielded, and the gateway sends what follows,
   so nothing is missed and nothing repeats. Entries not after that id are skipped anyway.
2. Every (re)connection starts with a `snapshot` (the task's current status, no id); it is
   yielded each time, since it may say more than the events missed while disconnected.
3. What is worth a reconnect: transport errors, a 5xx (gateway restarting, cluster or Redis
   unwell), a stream that closes before `end`. A 4xx is the caller's problem and is raised.
4. Bounded backoff: 0.5 s doubling to 5 s between attempts, back to the start after a
   connection that delivered an event; the follow gives up (`GatewayUnreachable`) after
   `give_up_after` seconds without a working connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import httpx
import pydantic
from httpx_sse import ServerSentEvent
from longtask.client import config, errors
from longtask.core import events, resource, wire

SNAPSHOT: Final = "snapshot"
END: Final = events.EventType.END.value
LOG: Final = events.EventType.LOG.value
# Longer than the gateway's ping interval (15 s by default), so an idle stream is not cut.
STREAM_READ_TIMEOUT: Final = 60.0
# Largest `data` of one SSE event accepted (a snapshot holds the task with its result).
EVENT_MAX_CHARS: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One event of a task's stream.

    `type` is the SSE event name (snapshot, progress, status, heartbeat, result, log, end, …);
    `id` the Redis stream id (None for snapshots and events derived from the LongTask watch);
    `data` the event's fields; `task` the task's state, on snapshots only.
    """

    type: str
    data: wire.Event
    id: str | None = None
    task: wire.Task | None = None

    @property
    def progress(self) -> float | None:
        return self.data.progress

    @property
    def message(self) -> str | None:
        return self.data.message

    @property
    def phase(self) -> str | None:
        return self.data.phase

    @property
    def attempt(self) -> int | None:
        return self.data.attempt

    @property
    def is_end(self) -> bool:
        return self.type == END


class Decoder:
    """Typed events of one connection's SSE messages.

    httpx-sse reports the *last* event id on every message, as the SSE spec's last-event-id
    buffer does; an event without an `id:` line (snapshot, events derived from the watch) would
    look like a repeat of the entry before it. Ids strictly increase within one connection, so a
    message repeating the previous message's id has no id of its own. Messages without data
    (the `retry:` hint) are not events (the spec does not dispatch them either).
    """

    def __init__(self) -> None:
        self._previous_id = ""

    def feed(self, sse: ServerSentEvent) -> TaskEvent | None:
        own_id = sse.id if sse.id != self._previous_id else ""
        self._previous_id = sse.id
        if not sse.data:
            return None
        return _parse(sse.event, sse.data, own_id)


def parse_event(sse: ServerSentEvent) -> TaskEvent:
    """The typed event of an SSE message; InvalidResponse when its data is not an event."""
    return _parse(sse.event, sse.data, sse.id)


def _parse(event: str, text: str, own_id: str) -> TaskEvent:
    if len(text) > EVENT_MAX_CHARS:
        raise errors.InvalidResponse(f"event data exceeds {EVENT_MAX_CHARS} characters")
    try:
        raw = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise errors.InvalidResponse(f"event data is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise errors.InvalidResponse("event data is not a JSON object")
    kind = event or "message"
    event_id = own_id or None
    try:
        if kind == SNAPSHOT:
            task = wire.Task.model_validate(raw)
            data = wire.Event(
                type=SNAPSHOT,
                attempt=task.attempt,
                progress=task.progress,
                message=task.message,
                phase=task.phase.value,
                reason=task.reason,
            )
            return TaskEvent(SNAPSHOT, data, event_id, task)
        raw.setdefault("type", kind)
        return TaskEvent(kind, wire.Event.model_validate(raw), event_id)
    except pydantic.ValidationError as exc:
        raise errors.InvalidResponse(
            f"malformed {kind} event: {exc.error_count()} errors"
        ) from None


def log_line(event: TaskEvent) -> wire.LogLine:
    """The log line of a `log` event of the logs stream."""
    extra = event.data.model_extra or {}
    return wire.LogLine(
        id=event.id or str(extra.get("id", "")),
        attempt=event.attempt,
        line=str(extra.get("line", "")),
    )


def stream_id(value: str) -> tuple[int, int]:
    """(ms, seq) of a Redis stream id, for ordering; (-1, -1) for anything else."""
    ms, sep, seq = value.partition("-")
    if sep and ms.isdigit() and seq.isdigit():
        return int(ms), int(seq)
    return (-1, -1)


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed connection is worth another attempt (see design choice 3)."""
    if isinstance(exc, errors.ServerError):
        return True
    return isinstance(exc, httpx.TransportError)


@dataclass
class Resume:
    """The state of one follow across reconnections: where to resume, when to give up."""

    last_id: str | None = None
    give_up_after: float = config.DEFAULT_GIVE_UP_AFTER
    initial_delay: float = 0.5
    max_delay: float = 5.0
    clock: Callable[[], float] = time.monotonic
    ended: bool = False
    failures: int = 0
    _healthy_at: float = field(default=-1.0)
    _last_key: tuple[int, int] = field(default=(-1, -1))

    def __post_init__(self) -> None:
        self._healthy_at = self.clock()
        if self.last_id is not None:
            self._last_key = stream_id(self.last_id)

    def headers(self) -> dict[str, str]:
        """The headers of the next connection: resume after the last id yielded."""
        return {"Last-Event-ID": self.last_id} if self.last_id else {}

    def accept(self, event: TaskEvent) -> bool:
        """Record a received event; False when it repeats one already yielded (skip it)."""
        self.failures = 0
        self._healthy_at = self.clock()
        if event.id is not None:
            key = stream_id(event.id)
            if self.last_id is not None and key <= self._last_key:
                return False
            self.last_id, self._last_key = event.id, key
        if event.is_end:
            self.ended = True
        return True

    def next_delay(self, exc: BaseException) -> float:
        """The pause before the next connection after `exc`; raises when giving up."""
        if not is_retryable(exc):
            raise exc
        waited = self.clock() - self._healthy_at
        if waited >= self.give_up_after:
            raise errors.GatewayUnreachable(
                f"no working connection to the gateway for {waited:.0f} s: {exc}"
            ) from exc
        delay = min(self.max_delay, self.initial_delay * 2.0 ** min(self.failures, 30))
        self.failures += 1
        return min(delay, max(0.0, self.give_up_after - waited))


class StreamClosed(httpx.TransportError):
    """The stream ended before its `end` event (a gateway shutting down closes it cleanly)."""

    def __init__(self) -> None:
        super().__init__("the event stream closed before the end event")


def outcome(task: wire.Task) -> wire.Task:
    """`task` when it succeeded; raises TaskFailed or TaskCancelled for the other final phases."""
    if task.phase is resource.Phase.FAILED:
        raise errors.TaskFailed(task)
    if task.phase is resource.Phase.CANCELLED:
        raise errors.TaskCancelled(task)
    return task


def final_view(task: wire.Task, end: TaskEvent | None) -> wire.Task:
    """The task as final: its own phase when final, else the phase its `end` event named."""
    if task.phase.is_final or end is None or end.phase is None:
        return task
    try:
        phase = resource.Phase(end.phase)
    except ValueError:
        return task
    return task.model_copy(update={"phase": phase}) if phase.is_final else task
