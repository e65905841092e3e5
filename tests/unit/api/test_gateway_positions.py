"""A queued task's `queue` event from its queue's snapshot: its place, reason and ETA, parsed
once per snapshot for every follower."""

from __future__ import annotations

import json
from typing import Any

from longtask.api.streaming import positions
from longtask.api.streaming.hub import Entry
from longtask.core import keys, taskstate
from longtask.core.resource import Phase

SNAP = {
    "ts": 1_000_000,
    "namespace": "ns",
    "queue": "llm",
    "running": 8,
    "maxRunning": 8,
    "suspended": False,
    "waiting": [
        ["u1", "QueueFull", 1_060_000],
        ["u2", "QueueFull", None],
        ["u3", "KeyLimit", 1_200_000],
    ],
}


def entry() -> Entry:
    return Entry("k", "1-0", {"data": json.dumps(SNAP)})


def test_each_follower_finds_its_place_in_one_parse() -> None:
    shared = entry()
    first = positions.queue_event(shared, "u3")
    assert first is not None
    assert (first["position"], first["queued"], first["reason"]) == (3, 3, "KeyLimit")
    assert first["eta"] == 1_200_000 and first["maxRunning"] == 8 and first["running"] == 8
    assert first["message"] == "queued #3 in llm · ~3 min"
    assert "queue" in shared.memo
    second = positions.queue_event(shared, "u2")
    assert second is not None and second["eta"] is None
    assert second["message"] == "queued #2 in llm"
    assert positions.queue_event(shared, "admitted-meanwhile") is None


def test_a_broken_snapshot_places_nobody() -> None:
    assert positions.queue_event(Entry("k", "1-0", {"data": "{not json"}), "u1") is None


def test_only_a_task_of_a_queue_that_may_still_wait_follows_its_snapshots() -> None:
    task: dict[str, Any] = {
        "metadata": {"namespace": "ns", "uid": "u"},
        "spec": {"queue": "llm"},
        "status": {},
    }
    assert positions.snapshot_key(task) == keys.queue_snapshots("ns", "llm")
    task["status"] = {"phase": "Running", "attempt": 1}
    assert positions.snapshot_key(task) is None
    assert positions.snapshot_key({"metadata": {}, "spec": {}}) is None
    assert positions.waits(taskstate.TaskState(phase=Phase.QUEUED))
    assert not positions.waits(taskstate.TaskState(phase=Phase.PENDING, attempt=1))
