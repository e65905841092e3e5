"""Drill: the gateway is killed (SIGKILL) while 50 SSE clients follow a task. Each client
reconnects to the new gateway process with `Last-Event-ID` and, over both connections together,
sees every event of the task's stream exactly once, in order."""

from __future__ import annotations

from longtask.core import resource
from longtask.devstack.stack import Stack

from tests.drills.conftest import Cluster, Followers, python_task, stream_events
from tests.fixtures.waiting import wait_for

CLIENTS = 50


def test_clients_of_a_killed_gateway_resume_without_gap_or_repeat(
    cluster: Cluster, drill_stack: Stack, followers: Followers, drill_redis
) -> None:
    uid = cluster.create("chatty", python_task("report", {"seconds": 20, "rate": 20}))["metadata"][
        "uid"
    ]
    wait_for(lambda: cluster.count(resource.Phase.RUNNING) == 1, 90, "the task to run")
    clients = [followers.follow(cluster.events_url("chatty")) for _ in range(CLIENTS)]

    def streaming() -> bool:
        return all(len([e for e in c.events if e.id]) >= 10 for c in clients)

    wait_for(streaming, 60, "every client to receive ten stream events")
    drill_stack.restart("gateway", kill=True)

    followers.wait_done(120)
    task = cluster.wait_all({resource.Phase.SUCCEEDED.value}, 60)["chatty"]
    assert task["status"]["phase"] == resource.Phase.SUCCEEDED
    stream_ids = [entry_id for entry_id, _ in stream_events(drill_redis, uid)]
    for number, follower in enumerate(clients):
        seen = [e.id for e in follower.events if e.id is not None]
        assert follower.connections >= 2, f"client {number} never lost its connection"
        assert follower.ended, f"client {number} saw no end event: {follower.errors}"
        assert len(seen) == len(set(seen)), f"client {number} saw an event twice"
        assert seen == stream_ids, f"client {number} missed events: {len(seen)}/{len(stream_ids)}"
