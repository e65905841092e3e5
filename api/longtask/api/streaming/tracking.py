"""What a follower knows of a task's status, and the events a LongTask change implies.

While Redis is unreachable a stream carries on from a watch of the LongTask: each new version
of the object becomes `status` (phase changed), `progress` (progress or message changed) and
finally `end` events, all without ids (they are not stream entries). The tracker also learns
from stream entries, so switching between the two sources repeats nothing it already said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from longtask.api.streaming import sse
from longtask.core import events, resource

SOURCE_WATCH: Final = "watch"
_FINAL: Final = frozenset(phase.value for phase in resource.FINAL_PHASES)
_PROGRESS: Final = events.EventType.PROGRESS.value
_PHASED: Final = frozenset({events.EventType.STATUS.value, events.EventType.END.value})


@dataclass
class StatusTracker:
    phase: str = resource.Phase.PENDING.value
    progress: float | None = None
    message: str | None = None
    attempt: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, obj: dict[str, Any]) -> StatusTracker:
        tracker = cls()
        tracker._absorb(obj.get("status") or {})
        return tracker

    @property
    def final(self) -> bool:
        return self.phase in _FINAL

    def _absorb(self, status: dict[str, Any]) -> None:
        self.phase = str(status.get("phase") or self.phase)
        self.progress = _number(status.get("progress"), self.progress)
        self.message = status.get("message", self.message)
        self.attempt = status.get("attempt", self.attempt)
        self.reason = status.get("reason", self.reason)

    def observe(self, event: dict[str, Any]) -> None:
        """Learn from a stream event (progress, status)."""
        kind = event.get("type")
        if kind == _PROGRESS:
            self.progress = _number(event.get("progress"), self.progress)
            self.message = event.get("message", self.message)
        elif kind in _PHASED and event.get("phase"):
            self.phase = str(event["phase"])
        if isinstance(event.get("attempt"), int):
            self.attempt = event["attempt"]

    def _event(self, kind: events.EventType, **fields: Any) -> sse.Frame:
        data = events.make(kind, self.attempt or 0, source=SOURCE_WATCH, **fields)
        return sse.frame(kind.value, data)

    def changes(self, obj: dict[str, Any]) -> list[sse.Frame]:
        """The id-less frames a new version of the LongTask implies (end last, if final)."""
        status = obj.get("status") or {}
        before = (self.phase, self.progress, self.message)
        self._absorb(status)
        frames = []
        if self.phase != before[0]:
            frames.append(
                self._event(
                    events.EventType.STATUS,
                    phase=self.phase,
                    reason=self.reason,
                    message=self.message,
                )
            )
        if (self.progress, self.message) != before[1:] and self.progress is not None:
            frames.append(
                self._event(events.EventType.PROGRESS, progress=self.progress, message=self.message)
            )
        if self.final:
            frames.append(self.end())
        return frames

    def end(self, **fields: Any) -> sse.Frame:
        """An `end` event for a task that ended without one in its stream."""
        return self._event(events.EventType.END, phase=self.phase, **fields)


def _number(value: Any, default: float | None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)
