"""The runner as the container of a Job's pod on the local node, as the operator runs it.

The pod gets its service account's token from the local node (a per-pod KUBECONFIG), so the
runner's status patches pass the real RBAC of the `longtask-runner` role.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client
from longtask.core import runnerenv
from longtask.devstack.stack import Stack

from tests.fixtures.runner import RUNNER_ACCOUNT, RunnerHarness
from tests.fixtures.waiting import wait_for


def runner_job(task: dict[str, Any], redis_url: str) -> dict[str, Any]:
    meta = task["metadata"]
    env = {
        runnerenv.NAMESPACE: meta["namespace"],
        runnerenv.NAME: meta["name"],
        runnerenv.UID: meta["uid"],
        runnerenv.ATTEMPT: "1",
        runnerenv.TASK: task["spec"]["task"],
        runnerenv.PARAMS: json.dumps(task["spec"]["params"]),
        runnerenv.REDIS_URL: redis_url,
        runnerenv.STATUS_INTERVAL: "0.5",
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{meta['name']}-1"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": RUNNER_ACCOUNT,
                    "containers": [
                        {
                            "name": "runner",
                            "image": "longtask/longtask-runner:dev",
                            "command": ["longtask-runner"],
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                        }
                    ],
                }
            },
        },
    }


def test_the_runner_in_a_pod_reports_through_its_service_account(
    runner_harness: RunnerHarness, stack: Stack, k8s: client.ApiClient
) -> None:
    task = runner_harness.create(
        "in-pod",
        {"task": "longtask_examples.counting:count", "params": {"n": 10, "delay": 0.05}},
    )
    batch = client.BatchV1Api(k8s)
    body = runner_job(task, stack.redis_url)
    batch.create_namespaced_job(runner_harness.namespace, body)  # type: ignore[arg-type]

    def finished() -> bool:
        job = batch.read_namespaced_job_status("in-pod-1", runner_harness.namespace)
        return bool(job.status.succeeded or job.status.failed)

    wait_for(finished, timeout=120, what="the runner's Job finished")
    job = batch.read_namespaced_job_status("in-pod-1", runner_harness.namespace)
    assert job.status.succeeded == 1

    status = runner_harness.get("in-pod")["status"]
    assert (status["progress"], status["message"]) == (100, "counted 10 of 10")
    assert status["result"] == {"counted": 10}
    kinds = {event["type"] for event in runner_harness.events(task)}
    assert {"heartbeat", "progress", "result"} <= kinds
