"""Drill: a running task's pod is deleted. That attempt fails (the runner is terminated), the
next attempt runs and succeeds, resuming from the checkpoint the first attempt left."""

from __future__ import annotations

import json

from longtask.core import keys, outputs, resource

from tests.drills.conftest import Cluster, python_task, retry
from tests.fixtures.waiting import wait_for

STEPS = 12


def test_deleted_pod_fails_the_attempt_and_the_next_resumes_from_its_checkpoint(
    cluster: Cluster, drill_redis
) -> None:
    spec = python_task("steps", {"count": STEPS, "step_seconds": 0.5}, retry=retry(3, 1))
    uid = cluster.create("resumer", spec)["metadata"]["uid"]

    def checkpointed() -> int:
        raw = drill_redis.get(keys.checkpoint(uid))
        return int(json.loads(outputs.decode_checkpoint(raw)[0])["next"]) if raw else 0

    wait_for(lambda: checkpointed() >= 4, 90, "the first attempt's fourth checkpoint")
    (pod,) = cluster.pods(uid)
    cluster.core.delete_namespaced_pod(pod.metadata.name, cluster.namespace)
    deleted_at = checkpointed()

    task = cluster.wait_all({resource.Phase.SUCCEEDED.value, resource.Phase.FAILED.value}, 120)[
        "resumer"
    ]
    status = task["status"]
    assert status["phase"] == resource.Phase.SUCCEEDED, status
    first, second = status["attempts"]
    assert first["outcome"] == resource.AttemptOutcome.FAILED, first
    # The pod is gone by the time its Job fails, so the exit code may be unknown; if the
    # operator read it before the pod went, it is the runner's "terminated".
    assert first.get("exitCode", resource.ExitCode.TERMINATED) == resource.ExitCode.TERMINATED
    assert first["reason"] in {resource.Reason.ATTEMPT_FAILED, resource.Reason.POD_LOST}, first
    assert second["outcome"] == resource.AttemptOutcome.SUCCEEDED, second
    assert status["attempt"] == 2
    # The second attempt started where the first one's last checkpoint pointed, not at 0.
    assert status["result"]["attempt"] == 2
    assert deleted_at <= status["result"]["first_step"] < STEPS, status["result"]
    assert sorted(cluster.jobs_by_uid()[uid]) == ["resumer-1", "resumer-2"]
