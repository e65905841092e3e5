"""The events a follower's changed knowledge of a task implies, while Redis is unreachable.

A stream then carries on from a watch of the LongTask. What the follower knows is core's
`TaskState`, kept by the one fold of `taskstate`: `apply` for each stream entry delivered,
`absorb` for each new version of the object. `frames` turns the difference between two states
into id-less `status` (the phase changed), `progress` (progress or message changed) and finally
`end` events marked `source: watch`. Stream entries teach the same state, so switching between
the two sources repeats nothing the client was already told.
"""

from __future__ import annotations

from longtask.api.streaming import sse
from longtask.core import events, taskstate


def frames(before: taskstate.TaskState, after: taskstate.TaskState) -> list[sse.Frame]:
    """The frames that tell a client who knows `before` what `after` adds (end last, if final)."""
    attempt = after.attempt or 0
    found = []
    if after.phase != before.phase:
        found.append(
            _frame(
                events.status(
                    attempt, after.phase, after.reason, after.message, source=events.SOURCE_WATCH
                )
            )
        )
    moved = (after.progress, after.message) != (before.progress, before.message)
    if moved and after.progress is not None:
        found.append(
            _frame(
                events.progress(
                    attempt, after.progress, after.message or "", source=events.SOURCE_WATCH
                )
            )
        )
    if after.final:
        found.append(end(after))
    return found


def end(state: taskstate.TaskState, *, synthetic: bool = False, deleted: bool = False) -> sse.Frame:
    """An `end` event for a task whose stream holds none (`synthetic`) or that is gone."""
    event = events.end(
        state.attempt or 0,
        state.phase,
        synthetic=synthetic,
        deleted=deleted,
        source=events.SOURCE_WATCH,
    )
    return _frame(event)


def _frame(event: events.Event) -> sse.Frame:
    return sse.frame(event["type"].value, event)
