"""Drill: the API server is restarted while tasks run. The operator, the local node and the
runners reconnect: every task, including ones submitted right after the restart, succeeds with
one attempt, one Job and its final progress and result in the status."""

from __future__ import annotations

from collections import Counter

from longtask.core import events, resource
from longtask.devstack.stack import Stack

from tests.drills.conftest import FINAL, Cluster, python_task, stream_events
from tests.fixtures.waiting import wait_for

PHASE = resource.Phase


def test_tasks_survive_an_api_server_restart(
    cluster: Cluster, drill_stack: Stack, drill_redis
) -> None:
    for index in range(10):
        cluster.create(f"before-{index}", python_task("report", {"seconds": 15, "rate": 5}))

    def all_reporting() -> bool:
        found = cluster.tasks().values()
        return len(found) == 10 and all((t.get("status") or {}).get("progress") for t in found)

    wait_for(all_reporting, 120, "the tasks to report progress")
    drill_stack.restart("kube-apiserver")
    for index in range(5):
        cluster.create(f"after-{index}", python_task("report", {"seconds": 3, "rate": 5}))

    tasks = cluster.wait_all(FINAL, 180)
    assert len(tasks) == 15
    jobs = cluster.jobs_by_uid()
    for name, task in sorted(tasks.items()):
        status, uid = task["status"], task["metadata"]["uid"]
        assert status["phase"] == PHASE.SUCCEEDED, (name, status)
        assert status["attempt"] == 1, (name, status)
        assert status["progress"] == 100, (name, status)
        assert status["result"]["calls"] > 0, (name, status)
        assert jobs.get(uid) == [f"{name}-1"], (name, jobs.get(uid))
        kinds = Counter(event["type"] for _, event in stream_events(drill_redis, uid))
        assert kinds[events.EventType.END] == 1, (name, kinds)
    assert drill_stack.procs["operator"].alive()
    assert drill_stack.procs["localnode"].alive()
