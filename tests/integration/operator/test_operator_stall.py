"""Stall detection: no heartbeat for stallSeconds sets Stalled; a heartbeat clears it."""

from __future__ import annotations

from typing import Any

import redis
from longtask.core import events, keys

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for


def stalled(tasks: Tasks, name: str) -> dict[str, Any] | None:
    for condition in (tasks.get(name).get("status") or {}).get("conditions") or []:
        if condition["type"] == "Stalled":
            return condition  # type: ignore[no-any-return]
    return None


def test_stalled_is_set_without_heartbeats_and_cleared_when_they_return(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    spec = {
        "command": ["sh", "-c", 'echo "::progress 5 started"; sleep 120'],
        "stallSeconds": 10,
        # The runner's first heartbeat comes at once, the next one only in an hour.
        "env": [{"name": "LONGTASK_HEARTBEAT_SECONDS", "value": "3600"}],
    }
    uid = tasks.create("quiet", spec)["metadata"]["uid"]
    tasks.wait_phase("quiet", {"Running"}, timeout=60)
    condition = wait_for(
        lambda: (c := stalled(tasks, "quiet")) and c["status"] == "True" and c,
        40,
        "Stalled=True",
    )
    assert condition["reason"] == "NoHeartbeat"
    operator_proc.wait_metric("longtask_tasks_stalled", 1, namespace=tasks.namespace)
    tasks.wait_events("quiet", {"NoHeartbeat"})

    # Heartbeats return (as the runner writes them: the state hash field, unix ms).
    redis_client.hset(keys.state(uid), keys.STATE_HEARTBEAT, str(events.now_ms()))
    condition = wait_for(
        lambda: (c := stalled(tasks, "quiet")) and c["status"] == "False" and c,
        20,
        "Stalled=False",
    )
    assert condition["reason"] == "HeartbeatResumed"
    operator_proc.wait_metric("longtask_tasks_stalled", 0, namespace=tasks.namespace)
    assert tasks.get("quiet")["status"]["phase"] == "Running"
    tasks.patch_spec("quiet", {"cancel": True})
    tasks.wait_final("quiet", timeout=30)
