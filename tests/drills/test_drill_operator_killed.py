"""Drill: the operator is killed (SIGKILL) while 100 tasks are in flight, some running, some
waiting out a retry backoff, and started again. Every task ends in the phase its script
implies, with exactly one Job per attempt, one `end` event and at most one dead letter."""

from __future__ import annotations

from collections import Counter
from typing import Any

from longtask.core import events, keys, resource
from longtask.devstack.stack import Stack

from tests.drills.conftest import FINAL, Cluster, retry, stream_events
from tests.fixtures.waiting import wait_for

PHASE = resource.Phase
# name prefix → (count, shell script, retry policy, final phase, attempts)
GROUPS: dict[str, tuple[int, str, dict[str, Any], str, int]] = {
    "ok": (40, "sleep 6", retry(3, 5), PHASE.SUCCEEDED, 1),
    "second": (
        30,
        'test "$LONGTASK_ATTEMPT" -ge 2 || exit 1; sleep 2',
        retry(3, 6),
        PHASE.SUCCEEDED,
        2,
    ),
    "dead": (20, "sleep 1; exit 1", retry(2, 6), PHASE.FAILED, 2),
    "permanent": (10, "sleep 2; exit 3", retry(3, 5), PHASE.FAILED, 1),
}


def test_operator_killed_with_tasks_in_flight_loses_and_doubles_nothing(
    cluster: Cluster, drill_stack: Stack, drill_redis
) -> None:
    for prefix, (count, script, policy, _, _) in GROUPS.items():
        for index in range(count):
            cluster.create(f"{prefix}-{index}", {"command": ["sh", "-c", script], "retry": policy})

    def in_flight() -> bool:
        phases = Counter(cluster.phases().values())
        return phases[PHASE.RUNNING] >= 10 and phases[PHASE.RETRYING] >= 5

    wait_for(in_flight, 180, "tasks both running and in backoff")
    drill_stack.stop_component("operator", kill=True)
    # While the operator is away, attempts end without it; it must find out after the restart.
    jobs_done = len([j for j in cluster.jobs() if j.status.succeeded or j.status.failed])
    wait_for(
        lambda: (
            len([j for j in cluster.jobs() if j.status.succeeded or j.status.failed])
            >= jobs_done + 5
        ),
        120,
        "attempts ending while the operator is down",
    )
    drill_stack.start_operator()

    tasks = cluster.wait_all(FINAL, 300)
    jobs = cluster.jobs_by_uid()
    deadletters = Counter(
        fields.get("uid") for _, fields in drill_redis.xrange(keys.DEADLETTER, "-", "+")
    )
    for name, task in sorted(tasks.items()):
        _, _, _, phase, attempts = GROUPS[name.split("-")[0]]
        status, uid = task["status"], task["metadata"]["uid"]
        assert status["phase"] == phase, (name, status)
        assert status["attempt"] == attempts, (name, status)
        assert [a["number"] for a in status["attempts"]] == list(range(1, attempts + 1)), name
        expected_jobs = [f"{name}-{n}" for n in range(1, attempts + 1)]
        assert sorted(jobs.get(uid, [])) == expected_jobs, (name, jobs.get(uid))
        kinds = Counter(event["type"] for _, event in stream_events(drill_redis, uid))
        assert kinds[events.EventType.END] == 1, (name, kinds)
        dead = name.startswith("dead")
        assert deadletters[uid] == (1 if dead else 0), (name, deadletters[uid])
