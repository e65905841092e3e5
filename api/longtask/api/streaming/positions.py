"""A queued task's place in its LongTaskQueue, derived from the queue's snapshots.

The operator writes one ordered snapshot per queue and change (at most one a second,
`keys.queue_snapshots`); every follower of one of the queue's tasks reads the same stream
through the hub, and the snapshot is parsed once for all of them (the entry's memo) into a map
from task UID to its place. So one start costs one Redis write and one read per gateway
process, whatever the number of queued tasks and followers; each follower's `queue` event is a
dictionary lookup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from longtask.api.streaming import sse
from longtask.api.streaming.hub import Entry
from longtask.core import events, keys, taskstate
from longtask.core.resource import Phase


def snapshot_key(obj: Mapping[str, Any]) -> str | None:
    """The snapshot stream of the task's queue, while the task may wait for it."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    queue = spec.get("queue")
    if not queue:
        return None
    state = taskstate.of_status(obj.get("status") or {})
    return keys.queue_snapshots(str(meta.get("namespace")), str(queue)) if waits(state) else None


def waits(state: taskstate.TaskState) -> bool:
    """Whether a task in `state` may still be waiting for its queue."""
    if state.phase in (Phase.QUEUED, Phase.RETRYING):
        return True
    return state.phase is Phase.PENDING and state.attempt is None


def _parsed(entry: Entry) -> dict[str, Any]:
    parsed: dict[str, Any] | None = entry.memo.get("queue")
    if parsed is None:
        try:
            snap = json.loads(entry.fields.get("data") or "{}")
        except ValueError:
            snap = {}
        waiting = snap.get("waiting") if isinstance(snap, dict) else None
        places = {}
        for index, row in enumerate(waiting or []):
            if isinstance(row, list) and len(row) == 3:
                places[str(row[0])] = (index + 1, row[1], row[2])
        parsed = {"snap": snap if isinstance(snap, dict) else {}, "places": places}
        entry.memo["queue"] = parsed
    return parsed


def queue_event(entry: Entry, uid: str) -> events.QueueEvent | None:
    """The `queue` event of task `uid` from a snapshot entry; None when it does not wait in it."""
    parsed = _parsed(entry)
    place = parsed["places"].get(uid)
    if place is None:
        return None
    snap = parsed["snap"]
    position, reason, eta = place
    ts = int(snap.get("ts") or 0)
    eta_seconds = max(0.0, (eta - ts) / 1000) if isinstance(eta, int) and ts else None
    queue = str(snap.get("queue", ""))
    event = events.QueueEvent(
        type=events.SseEvent.QUEUE,
        ts=ts,
        queue=queue,
        position=position,
        queued=len(parsed["places"]),
        running=int(snap.get("running") or 0),
        reason=str(reason),
        eta=eta if isinstance(eta, int) else None,
        message=events.queue_message(position, queue, eta_seconds),
    )
    if isinstance(snap.get("maxRunning"), int):
        event["maxRunning"] = snap["maxRunning"]
    return event


def frame(event: events.QueueEvent) -> sse.Frame:
    """A `queue` event has no id: it moves no resume point (a reconnect gets the latest)."""
    return sse.frame(events.SseEvent.QUEUE, event)
