"""Following a task's log stream: `log` frames (id = log stream id) until the task's end.

The lines live in the task's own Redis log stream, so they outlive the pod. A follow reads the
lines after the resume id through the hub, watches the task's event stream for its `end`, then
reads what was written just before it and closes with an `end` frame of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from longtask.api import taskobjects
from longtask.api.streaming import sse, streamids
from longtask.api.streaming.follow import Batches, Followers, gap_frame, read_after
from longtask.api.streaming.hub import Entry, rows
from longtask.core import events, keys, wire


def log_line(entry_id: str, fields: dict[str, Any]) -> wire.LogLine:
    """The line of a log stream entry."""
    attempt = fields.get("attempt")
    return wire.LogLine(
        id=entry_id,
        attempt=int(attempt) if isinstance(attempt, str) and attempt.isdigit() else None,
        line=str(fields.get("line", "")),
        ts=streamids.parse(entry_id)[0],
    )


def gap_line(gap: events.GapEvent) -> wire.LogLine:
    """The marker line of a JSON log page that starts after a gap (its id is the gap's resume
    point: reading on after it finds the same gap, the lines are gone)."""
    skipped = gap.get("skipped")
    count = f"{skipped} earlier lines were" if skipped is not None else "earlier lines were"
    text = f"[longtask: {count} trimmed from this log; it keeps only the newest lines]"
    return wire.LogLine(id=gap["after"], line=text, gap=wire.Gap.model_validate(gap))


def log_frame(entry: Entry) -> sse.Frame:
    line = log_line(entry.id, entry.fields)
    return sse.frame(events.EventType.LOG, line.model_dump(mode="json", by_alias=True), entry.id)


async def follow_logs(followers: Followers, obj: dict[str, Any], after: str) -> Batches:
    """Every log line after `after`, live, until the task's end event (then the rest)."""
    uid = str((obj.get("metadata") or {}).get("uid"))
    log_key, event_key = keys.logs(uid), keys.events(uid)
    hub = followers.hub
    sub, cached = await hub.subscribe(log_key, after)
    last = after
    try:
        await hub.subscribe(event_key, streamids.START, sub)
        tail = rows(await followers.redis.xrevrange(event_key, count=1))
        ended = taskobjects.phase_of(obj).is_final or any(
            sse.entry_frame(i, f).is_end for i, f in tail
        )
        pages: AsyncIterator[list[Entry] | events.GapEvent] | None = None
        if cached is None:
            pages = read_after(followers.redis, log_key, after)
        elif cached:
            frames = [log_frame(e) for e in cached]
            last = frames[-1].id or last
            yield frames
        if pages is not None:
            async for page in pages:
                if not isinstance(page, list):
                    yield [gap_frame(page)]
                    continue
                yield [log_frame(e) for e in page]
                last = page[-1].id
        while not ended:
            frames = []
            for item in await sub.next_batch():
                if not isinstance(item, Entry):
                    continue
                if item.key == event_key:
                    ended = ended or sse.entry_frame(item.id, item.fields).is_end
                elif streamids.is_after(item.id, last):
                    frames.append(log_frame(item))
                    last = item.id
            if frames:
                yield frames
        # Lines written just before the end may still be on their way through the hub.
        async for page in read_after(followers.redis, log_key, last):
            yield [log_frame(e) for e in page] if isinstance(page, list) else [gap_frame(page)]
        yield [sse.frame(events.EventType.END, {"type": events.EventType.END})]
    finally:
        hub.unsubscribe(sub)
