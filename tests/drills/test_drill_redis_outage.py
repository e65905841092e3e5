"""Drill: Redis is stopped for 30 s while 20 tasks run. Every task ends with the right phase;
SSE clients keep receiving phase changes during the outage (the gateway falls back to watching
the LongTask) and their streams end correctly."""

from __future__ import annotations

import json
import time

from longtask.core import resource
from longtask.devstack.stack import Stack

from tests.bench import sseclient
from tests.drills.conftest import FINAL, Cluster, Followers, python_task
from tests.fixtures.waiting import wait_for

OUTAGE_SECONDS = 30
PHASE = resource.Phase


def test_tasks_and_their_followers_outlive_a_redis_outage(
    cluster: Cluster, drill_stack: Stack, followers: Followers
) -> None:
    # Short tasks end during the outage, long ones after it; half of each fail permanently.
    expected: dict[str, str] = {}
    for index in range(20):
        short, fails = index % 2 == 0, index % 4 >= 2
        name = f"{'short' if short else 'long'}-{index}"
        params = {"seconds": 8 if short else OUTAGE_SECONDS + 15, "rate": 5, "permanent": fails}
        cluster.create(name, python_task("report", params))
        expected[name] = PHASE.FAILED if fails else PHASE.SUCCEEDED

    def all_reporting() -> bool:
        # Progress in the status: the runner is past its start and runs the task's code.
        found = cluster.tasks().values()
        return len(found) == 20 and all((t.get("status") or {}).get("progress") for t in found)

    wait_for(all_reporting, 120, "all 20 tasks reporting progress")
    clients = {name: followers.follow(cluster.events_url(name)) for name in expected}
    wait_for(lambda: all(c.of_type("snapshot") for c in clients.values()), 60, "snapshots")

    # The outage lasts a fixed time; meanwhile, note when each task ends in Kubernetes and
    # when its client hears of it.
    ended: dict[str, float] = {}
    told: dict[str, float] = {}
    drill_stack.stop_redis()
    stopped = time.monotonic()
    try:
        while (now := time.monotonic()) - stopped < OUTAGE_SECONDS:
            for name, phase in cluster.phases().items():
                if phase in FINAL:
                    ended.setdefault(name, now)
            for name, follower in clients.items():
                if final_phase(follower.events) is not None:
                    told.setdefault(name, now)
            time.sleep(0.5)  # the polling interval of this watch over the outage
    finally:
        drill_stack.start_redis()
    # Tasks that ended early enough in the outage were announced to their clients in it.
    settled = {n for n, t in ended.items() if t < stopped + OUTAGE_SECONDS - 5}
    assert len(settled) >= 5, f"too few tasks ended during the outage to tell: {ended}"
    assert settled <= set(told), f"not told during the outage: {settled - set(told)}"

    tasks = cluster.wait_all(FINAL, 120)
    followers.wait_done(60)
    for name, phase in expected.items():
        status = tasks[name]["status"]
        assert status["phase"] == phase, (name, status)
        assert status["attempt"] == 1, (name, status)
        if phase == PHASE.SUCCEEDED:  # the runner's final report reached the status
            assert status.get("result", {}).get("calls", 0) > 0, (name, status)
        follower = clients[name]
        assert follower.ended, (name, follower.errors, follower.events[-3:])
        assert final_phase(follower.events) == phase, (name, follower.events[-3:])
        # After the end, the stream closed: nothing follows the end event.
        assert follower.events[-1].event == "end", (name, follower.events[-3:])


def final_phase(received: list[sseclient.Event]) -> str | None:
    """The final phase announced by a status or end event, if any."""
    for event in reversed(received):
        if event.event in ("status", "end"):
            phase = json.loads(event.data).get("phase")
            if phase in FINAL:
                return str(phase)
    return None
