"""Following a task's event stream: typed events, and the resume logic shared by both clients.

Design choices:
1. Resume by id. Only stream entries carry an SSE `id:`; after a dropped connection the client
   reconnects with `Last-Event-ID` = the last id it yielded, and the gateway sends what follows,
   so nothing is missed and nothing repeats. Entries not after that id are skipped anyway.
2. Every (re)connection starts with a `snapshot` (the task's current status, no id); it is
   yielded each time, since it may say more than the events missed while disconnected. A tail
   follow's snapshot is the task as of a stream entry and carries that entry's id: it moves the
   resume point like an entry does, and is yielded even when it repeats it.
3. What is worth a reconnect: transport errors, a 5xx (gateway restarting, cluster or Redis
   unwell), a stream that closes before `end`. A 4xx is the caller's problem and is raised.
4. Bounded backoff: 0.5 s doubling to 5 s between attempts, back to the start after a
   connection that delivered an event; the follow gives up (`GatewayUnreachable`) after
   `give_up_after` seconds without a working connection.
5. One fold. What a follow knows of the task is core's `TaskState`, kept by core's fold
   (`taskstate`) over every event it yields, snapshots included; each event carries the state
   it leads to, so callers show or decide from `event.state` and fold nothing themselves.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import httpx
import pydantic
from httpx_sse import ServerSentEvent
from longtask.client import config, errors
from longtask.core import events, resource, taskstate, wire

SNAPSHOT: Final = events.SseEvent.SNAPSHOT.value
END: Final = events.EventType.END.value
LOG: Final = events.EventType.LOG.value
GAP: Final = events.SseEvent.GAP.value
# Longer than the gateway's ping interval (15 s by default), so an idle stream is not cut.
STREAM_READ_TIMEOUT: Final = 60.0
# Largest `data` of one SSE event accepted (a snapshot holds the task with its result).
EVENT_MAX_CHARS: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One event of a task's stream.

    `type` is the SSE event name (snapshot, progress, status, heartbeat, result, log, end, …);
    `id` the Redis stream id (None for snapshots and events derived from the LongTask watch);
    `data` the event's fields; `task` the task as the gateway shows it, on snapshots only;
    `state` what the follow knows of the task once this event is taken in (see choice 5).
    """

    type: str
    data: wire.Event
    id: str | None = None
    task: wire.Task | None = None
    state: taskstate.TaskState = field(default_factory=taskstate.TaskState)

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
    """The log line of a `log` event of the logs stream; for a `gap` event, the marker line
    the gateway's JSON pages carry (see `wire.LogLine.gap`)."""
    extra = event.data.model_extra or {}
    if event.type == GAP:
        gap = wire.Gap.model_validate(extra)
        count = f"{gap.skipped} earlier lines were" if gap.skipped is not None else "lines were"
        text = f"[longtask: {count} trimmed from this log; it keeps only the newest lines]"
        return wire.LogLine(id=gap.after, line=text, gap=gap)
    return wire.LogLine(
        id=event.id or str(extra.get("id", "")),
        attempt=event.attempt,
        line=str(extra.get("line", "")),
        ts=event.data.ts,
    )


def fold(known: taskstate.TaskState, event: TaskEvent) -> taskstate.TaskState:
    """`known` updated with `event` by core's fold (a snapshot is the task the gateway shows)."""
    if event.task is not None:
        payload = event.task.model_dump(mode="json", by_alias=True)
    else:
        payload = event.data.model_dump(mode="json", exclude_none=True)
    return taskstate.receive(known, event.type, payload)


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
    """The state of one follow across reconnections: where to resume, when to give up, and
    what it knows of the task (`known`, choice 5)."""

    last_id: str | None = None
    give_up_after: float = config.DEFAULT_GIVE_UP_AFTER
    initial_delay: float = 0.5
    max_delay: float = 5.0
    clock: Callable[[], float] = time.monotonic
    known: taskstate.TaskState = field(default_factory=taskstate.TaskState)
    failures: int = 0
    _healthy_at: float = field(default=-1.0)
    _last_key: tuple[int, int] = field(default=(-1, -1))

    def __post_init__(self) -> None:
        self._healthy_at = self.clock()
        if self.last_id is not None:
            self._last_key = stream_id(self.last_id)

    @property
    def ended(self) -> bool:
        """The `end` event arrived: nothing follows."""
        return self.known.ended

    def headers(self) -> dict[str, str]:
        """The headers of the next connection: resume after the last id yielded."""
        return {"Last-Event-ID": self.last_id} if self.last_id else {}

    def accept(self, event: TaskEvent) -> TaskEvent | None:
        """`event` with the state it leads to; None when it repeats one already yielded (skip
        it)."""
        self.failures = 0
        self._healthy_at = self.clock()
        if event.id is not None:
            key = stream_id(event.id)
            if self.last_id is not None and key <= self._last_key:
                if event.type != SNAPSHOT:
                    return None
                # A tail snapshot as of the resume point: new to nobody, but it is the
                # connection's first event (choice 2).
            else:
                self.last_id, self._last_key = event.id, key
        self.known = fold(self.known, event)
        return dataclasses.replace(event, state=self.known)

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


def final_view(task: wire.Task, known: taskstate.TaskState) -> wire.Task:
    """The task as final: its own phase when final, else the final phase the follow learned
    (from the end event, when the LongTask status lags the stream)."""
    if task.phase.is_final or not known.final:
        return task
    return task.model_copy(update={"phase": known.phase})
