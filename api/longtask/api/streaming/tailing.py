"""The snapshot of a tail follow: the task as of one entry of its stream, and that entry's id.

A follow normally starts with the task as the LongTask shows it and then replays the stream
from its start (or after `Last-Event-ID`): a client that only shows the task's state would show
the snapshot, then every older progress again. A tail follow (`?tail=true`) starts where the
stream is now:

1. The start is the resume id when there is one, else the stream's last entry; never an `end`,
   so a follower of a finished task still receives it and knows nothing follows.
2. The snapshot is the LongTask's view with core's fold of every entry up to the start applied
   (phase, progress, messages, attempt, reason): exactly what the entries after the start
   continue, so nothing a client shows ever goes back.
3. The snapshot carries the start as its `id:`, so a reconnect resumes after it (the browser's
   EventSource and the client send it back as `Last-Event-ID`) with a snapshot as of that id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from longtask.api import taskobjects
from longtask.api.streaming import sse, streamids
from longtask.api.streaming.hub import rows
from longtask.core import events, keys, taskstate
from redis.asyncio import Redis

PAGE: Final = 500


async def start_of(redis: Redis, key: str, after: str) -> str:
    """The id the tail starts after: `after` when given, else the last entry before any end."""
    if after != streamids.START:
        return after
    for entry_id, fields in rows(await redis.xrevrange(key, count=2)):
        if not sse.entry_frame(entry_id, fields).is_end:
            return entry_id
    return streamids.START


async def fold_until(
    redis: Redis, key: str, known: taskstate.TaskState, until: str
) -> taskstate.TaskState:
    """`known` with every entry of `key` up to `until` (inclusive) applied, in order."""
    cursor = "-"
    while until != streamids.START:
        page = rows(await redis.xrange(key, min=cursor, max=until, count=PAGE))
        for entry_id, fields in page:
            known = taskstate.apply(known, sse.entry_frame(entry_id, fields).payload())
        if len(page) < PAGE:
            break
        cursor = f"({page[-1][0]}"
    return known


def view(obj: dict[str, Any], known: taskstate.TaskState) -> dict[str, Any]:
    """The task as the gateway shows it, with what the fold knows in place of the status."""
    shown = taskobjects.task_view(obj).model_dump(mode="json", by_alias=True)
    shown |= {
        "phase": known.phase.value,
        "progress": known.progress,
        "message": known.message,
        "attempt": known.attempt,
        "reason": known.reason,
    }
    return shown


@dataclass(frozen=True, slots=True)
class Tail:
    """Where a tail follow starts: its snapshot, the id it goes on after, what the fold knows."""

    snapshot: sse.Frame
    after: str
    known: taskstate.TaskState


async def tail(redis: Redis, obj: dict[str, Any], after: str) -> Tail:
    """The start of a tail follow of task `obj` (see choices 1-3); raises RedisError when Redis
    cannot be read."""
    key = keys.events(str((obj.get("metadata") or {}).get("uid")))
    start = await start_of(redis, key, after)
    known = await fold_until(redis, key, taskstate.of_status(obj.get("status") or {}), start)
    frame_id = None if start == streamids.START else start
    return Tail(sse.frame(events.SseEvent.SNAPSHOT, view(obj, known), frame_id), start, known)
