"""What the local node in container mode enforces on plain pods, as a kubelet would: runAsNonRoot,
a read-only root filesystem, images that exist locally; exit codes in the pod status."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from longtask.devstack.stack import Stack

from tests.fixtures.operator import make_namespace
from tests.fixtures.waiting import wait_for

# The first test of a session also waits for `make images` (cold: several minutes, see
# deploy/images/README.md) and for a stack of its own.
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture
def pod_namespace(container_stack: Stack, container_k8s: client.ApiClient) -> Iterator[str]:
    name = make_namespace(container_stack, container_k8s, "lt-pods-")
    # Plain pods run as the namespace's `default` account, which the controller manager adds.
    core = client.CoreV1Api(container_k8s)
    wait_for(
        lambda: any(
            sa.metadata.name == "default" for sa in core.list_namespaced_service_account(name).items
        ),
        timeout=60,
        what=f"the default service account of {name}",
    )
    yield name
    client.CoreV1Api(container_k8s).delete_namespace(name)


def run_pod(
    api: client.ApiClient,
    namespace: str,
    script: str,
    image: str = "longtask/runner:0.1.0",
    pod_security: dict[str, Any] | None = None,
    read_only: bool = True,
    scratch: bool = True,
) -> client.V1Pod:
    """Creates a pod running `sh -c script`; returns it once it has finished."""
    name = f"p-{secrets.token_hex(3)}"
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "command": ["sh", "-c", script],
        "securityContext": {"readOnlyRootFilesystem": read_only},
    }
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 5,
        "securityContext": pod_security or {"runAsNonRoot": True, "runAsUser": 65532},
        "containers": [container],
    }
    if scratch:
        container["volumeMounts"] = [{"name": "scratch", "mountPath": "/tmp"}]
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": spec,
    }
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, body)  # type: ignore[arg-type]  # a manifest works

    def finished() -> client.V1Pod | None:
        pod = core.read_namespaced_pod(name, namespace)
        return pod if str(pod.status.phase) in {"Succeeded", "Failed"} else None

    return wait_for(finished, 120, f"pod {name} to finish")


def terminated(pod: client.V1Pod) -> Any:
    return pod.status.container_statuses[0].state.terminated


def test_a_pod_runs_with_the_user_and_scratch_space_it_asks_for(
    container_k8s: client.ApiClient, pod_namespace: str
) -> None:
    pod = run_pod(container_k8s, pod_namespace, 'test "$(id -u)" = 65532 && touch /tmp/ok')
    assert pod.status.phase == "Succeeded"
    assert (terminated(pod).exit_code, terminated(pod).reason) == (0, "Completed")


def test_a_read_only_root_without_a_scratch_volume_cannot_be_written(
    container_k8s: client.ApiClient, pod_namespace: str
) -> None:
    pod = run_pod(container_k8s, pod_namespace, "touch /tmp/nope", scratch=False)
    assert pod.status.phase == "Failed"
    assert (terminated(pod).exit_code, terminated(pod).reason) == (1, "Error")


def test_run_as_non_root_refuses_a_root_user(
    container_k8s: client.ApiClient, pod_namespace: str
) -> None:
    pod = run_pod(
        container_k8s, pod_namespace, "true", pod_security={"runAsNonRoot": True, "runAsUser": 0}
    )
    assert pod.status.phase == "Failed"
    assert "runAsNonRoot" in terminated(pod).message


def test_an_image_that_is_not_local_is_not_pulled(
    container_k8s: client.ApiClient, pod_namespace: str
) -> None:
    pod = run_pod(container_k8s, pod_namespace, "true", image="example.invalid/nothing:1")
    assert pod.status.phase == "Failed"
    assert "no registry" in terminated(pod).message
