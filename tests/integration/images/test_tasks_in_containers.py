"""LongTasks whose pods run as real containers from the runner image (local node in container
mode): non-root, read-only root filesystem, status patched with the pod's own token, SIGTERM to
the containerised runner on cancel."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import redis
from kubernetes import client, watch
from longtask.core import keys
from longtask.devstack.stack import Stack
from longtask.runner import statussink

from tests.fixtures.operator import Tasks
from tests.fixtures.waiting import wait_for

# The first test of a session also waits for `make images` (cold: several minutes, see
# deploy/images/README.md) and for a stack of its own.
pytestmark = pytest.mark.timeout(1800)

RUNNER_UID = 65532
# A command task that reports what it sees inside the container, with progress on the way.
INSPECT = (
    "uid=$(id -u); gid=$(id -g); "
    "if touch /probe 2>/dev/null; then root=false; else root=true; fi; "
    "if touch /tmp/probe; then tmp=true; else tmp=false; fi; "
    'echo "::progress 50 looked around"; sleep 1; '
    'echo "::progress 100 done"; '
    'echo "::result {\\"uid\\": $uid, \\"gid\\": $gid, \\"rootReadOnly\\": $root, '
    '\\"tmpWritable\\": $tmp}"'
)
# Waits after its first progress report until the runner forwards SIGTERM.
WAITING = 'echo "::progress 10 waiting"; while true; do sleep 0.2; done'


def events(stack: Stack, uid: str) -> list[dict[str, Any]]:
    connection = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        return [json.loads(f["data"]) for _, f in connection.xrange(keys.events(uid))]
    finally:
        connection.close()


def status_managers(task: dict[str, Any]) -> set[str]:
    """Field managers that wrote through the status subresource (the operator's is its own)."""
    return {
        str(entry.get("manager"))
        for entry in task["metadata"].get("managedFields") or []
        if entry.get("subresource") == "status"
    }


def test_a_command_task_runs_in_the_runner_image_as_non_root_on_a_read_only_root(
    container_stack: Stack, container_tasks: Tasks
) -> None:
    uid = container_tasks.create("inspect", {"command": ["sh", "-c", INSPECT]})["metadata"]["uid"]
    task = container_tasks.wait_final("inspect", timeout=120)
    status = task["status"]
    assert status["phase"] == "Succeeded", status
    assert status["result"] == {
        "uid": RUNNER_UID,
        "gid": RUNNER_UID,
        "rootReadOnly": True,
        "tmpWritable": True,
    }
    assert status["progress"] == 100
    progress = [e for e in events(container_stack, uid) if e["type"] == "progress"]
    assert [e["progress"] for e in progress][-1] == 100
    assert any(e.get("message") == "looked around" for e in progress)


def test_a_python_task_from_the_image_reports_with_the_pods_own_token(
    container_stack: Stack, container_tasks: Tasks
) -> None:
    spec = {"task": "longtask_examples.counting:count", "params": {"n": 5, "delay": 0.2}}
    uid = container_tasks.create("count", spec)["metadata"]["uid"]
    task = container_tasks.wait_final("count", timeout=120)
    status = task["status"]
    assert status["phase"] == "Succeeded", status
    assert status["result"] == {"counted": 5}
    assert status["message"].startswith("counted 5 of 5")
    # The runner patched the status itself: inside the container the only credentials are the
    # pod's service-account token (a kubeconfig and the token volume, both mounted read-only).
    assert statussink.FIELD_MANAGER in status_managers(task)
    progress = [e["progress"] for e in events(container_stack, uid) if e["type"] == "progress"]
    assert progress and progress[-1] == 100


def test_without_a_kubeconfig_the_runner_reports_with_the_mounted_service_account(
    container_stack: Stack, container_tasks: Tasks
) -> None:
    """As in a cluster: KUBERNETES_SERVICE_HOST/PORT and the token and CA of the service-account
    volume (an empty KUBECONFIG hides the local node's per-pod kubeconfig)."""
    spec = {
        "task": "longtask_examples.counting:count",
        "params": {"n": 3, "delay": 0.2},
        "env": [{"name": "KUBECONFIG", "value": ""}],
    }
    container_tasks.create("incluster", spec)
    task = container_tasks.wait_final("incluster", timeout=120)
    status = task["status"]
    assert status["phase"] == "Succeeded", status
    assert status["result"] == {"counted": 3}
    assert status["message"].startswith("counted 3 of 3")
    assert statussink.FIELD_MANAGER in status_managers(task)


def watch_exit_codes(api: client.ApiClient, namespace: str, found: dict[str, int]) -> None:
    """Records the runner container's exit code of each pod of `namespace` as it is reported."""
    core = client.CoreV1Api(api)
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_pod, namespace, timeout_seconds=120):
        pod = event["object"]
        for status in (pod.status and pod.status.container_statuses) or []:
            terminated = status.state and status.state.terminated
            if terminated is not None:
                found[pod.metadata.name] = terminated.exit_code
        if found:
            stream.stop()


def test_cancel_sends_sigterm_to_the_containerised_runner_which_exits_143(
    container_stack: Stack, container_k8s: client.ApiClient, container_tasks: Tasks
) -> None:
    uid = container_tasks.create("stopme", {"command": ["sh", "-c", WAITING]})["metadata"]["uid"]
    wait_for(
        lambda: (container_tasks.get("stopme").get("status") or {}).get("progress") == 10,
        120,
        "the task running with its first progress",
    )
    [pod] = container_tasks.pods(uid)
    codes: dict[str, int] = {}
    watcher = threading.Thread(
        target=watch_exit_codes, args=(container_k8s, container_tasks.namespace, codes)
    )
    watcher.start()
    container_tasks.patch_spec("stopme", {"cancel": True})
    status = container_tasks.wait_final("stopme", timeout=60)["status"]
    watcher.join(timeout=90)
    assert status["phase"] == "Cancelled"
    # 143 is the runner's own exit after SIGTERM; a SIGKILL after the grace period gives 137.
    assert codes.get(pod.metadata.name) == 143, codes
    log = container_stack.pod_log(container_tasks.namespace, pod.metadata.name, "runner")
    assert "SIGTERM" in log, log[-2000:]
