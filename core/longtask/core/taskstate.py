"""What a follower knows of a task, and the one fold that keeps it up to date.

Everyone who follows a task (the gateway's watch fallback, the client, the CLI) keeps a
`TaskState` and folds into it each event of the task's stream (`apply`), each LongTask status
or snapshot it reads (`absorb`), or each SSE event it receives (`receive`: a snapshot is
absorbed, anything else applied).

Design choices:
1. Pure and immutable: a step returns a new state, or the same object when it taught nothing, so
   a caller compares two states to know what changed.
2. Defensive: events are written by a task's own runner, of any version. A field of the wrong
   type, a phase this version does not know or an event type it does not know teaches nothing;
   nothing raises.
3. Two messages. `message` is the task's own (progress events; `status.message`), `phase_message`
   the operator's explanation of the latest phase change (status and end events), and
   `latest_message` whichever of the two changed last, for one-line displays. The LongTask status
   holds only the task's own message, so a follower that switches between the stream and the
   watch compares like with like.
4. Progress, status and end events carry state; any event carries its attempt. A heartbeat only
   repeats the last progress, and a log event's message is an output line, not the task's
   message.
5. Messages belong to their attempt. When a later attempt shows up (an event or a status with a
   higher `attempt`), the messages of the earlier one are forgotten before anything else of it
   is taken in: a new attempt's Pending never shows the last attempt's error.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from .events import EventType, SseEvent
from .resource import Phase


@dataclasses.dataclass(frozen=True, slots=True)
class TaskState:
    """A task's phase and progress, as far as a follower knows them."""

    phase: Phase = Phase.PENDING
    progress: float | None = None
    """Percent done (0-100), once reported."""
    message: str | None = None
    """The task's own latest message (see design choice 3)."""
    attempt: int | None = None
    """The current or last attempt (1-based)."""
    reason: str | None = None
    """Why the latest phase change happened (a Reason value)."""
    phase_message: str | None = None
    """The operator's explanation of the latest phase change."""
    latest_message: str | None = None
    """`message` or `phase_message`, whichever changed last."""
    ended: bool = False
    """An `end` event arrived: nothing follows in the stream."""
    queue_position: int | None = None
    """Its place in its queue while Queued (a `queue` event, or the status's coarse one)."""
    queue_eta: int | None = None
    """When it is expected to start while Queued (unix ms), from the latest `queue` event."""

    @property
    def final(self) -> bool:
        return self.phase.is_final


def of_status(status: Mapping[str, Any]) -> TaskState:
    """The state a LongTask status (or a snapshot of the task) describes."""
    return absorb(TaskState(), status)


def absorb(state: TaskState, status: Mapping[str, Any]) -> TaskState:
    """`state` updated with what a LongTask status (or a snapshot of the task) says.

    A field absent from `status` keeps its value (the watch may lag the stream); `message` and
    `reason` present as null clear it."""
    changes: dict[str, Any] = {}
    attempt = _attempt(status.get("attempt"))
    if attempt is not None:
        changes["attempt"] = attempt
        state = _new_attempt(state, attempt)
    phase = _phase(status.get("phase"))
    if phase is not None:
        changes["phase"] = phase
        if phase is not Phase.QUEUED:
            changes["queue_position"] = changes["queue_eta"] = None
    position = status.get("queuePosition")
    if phase is Phase.QUEUED and _attempt(position) is not None:
        changes["queue_position"] = position
    percent = _number(status.get("progress"))
    if percent is not None:
        changes["progress"] = percent
    if "reason" in status and _text_or_none(status["reason"]):
        changes["reason"] = status["reason"]
    if "message" in status and _text_or_none(status["message"]):
        message = status["message"]
        if message != state.message:
            changes["message"] = message
            if message is not None:
                changes["latest_message"] = message
    return _changed(state, changes)


def apply(state: TaskState, event: Mapping[str, Any]) -> TaskState:
    """`state` updated with what an event of the task's stream says."""
    changes: dict[str, Any] = {}
    attempt = _attempt(event.get("attempt"))
    if attempt is not None:
        changes["attempt"] = attempt
        state = _new_attempt(state, attempt)
    kind = event.get("type")
    message = event.get("message")
    if kind == EventType.PROGRESS:
        percent = _number(event.get("progress"))
        if percent is not None:
            changes["progress"] = percent
        if isinstance(message, str):
            changes["message"] = changes["latest_message"] = message
    elif kind in (EventType.STATUS, EventType.END):
        phase = _phase(event.get("phase"))
        if phase is not None:
            changes["phase"] = phase
        reason = event.get("reason")
        if isinstance(reason, str):
            changes["reason"] = reason
        if isinstance(message, str):
            changes["phase_message"] = changes["latest_message"] = message
        if kind == EventType.END:
            changes["ended"] = True
        if phase is not None and phase is not Phase.QUEUED:
            changes["queue_position"] = changes["queue_eta"] = None
    elif kind == SseEvent.QUEUE:
        position = event.get("position")
        if _attempt(position) is not None:
            changes["phase"] = Phase.QUEUED
            changes["queue_position"] = position
            eta = event.get("eta")
            changes["queue_eta"] = eta if isinstance(eta, int) and eta > 0 else None
            if isinstance(message, str):
                changes["phase_message"] = changes["latest_message"] = message
    return _changed(state, changes)


def receive(state: TaskState, name: str, data: Mapping[str, Any]) -> TaskState:
    """`state` updated with an SSE event of the task's stream: `name` is its `event:`, `data`
    its parsed data (a snapshot is the task as the gateway shows it)."""
    if name == SseEvent.SNAPSHOT:
        return absorb(state, data)
    if "type" not in data:
        data = {**data, "type": name}
    return apply(state, data)


def _new_attempt(state: TaskState, attempt: int) -> TaskState:
    """`state` without the messages of its attempt when `attempt` is a later one (choice 5)."""
    if state.attempt is None or attempt <= state.attempt:
        return state
    return dataclasses.replace(state, message=None, phase_message=None, latest_message=None)


def _changed(state: TaskState, changes: dict[str, Any]) -> TaskState:
    if all(getattr(state, field) == value for field, value in changes.items()):
        return state
    return dataclasses.replace(state, **changes)


def _phase(value: object) -> Phase | None:
    if not isinstance(value, str):
        return None
    try:
        return Phase(value)
    except ValueError:
        return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _attempt(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)
