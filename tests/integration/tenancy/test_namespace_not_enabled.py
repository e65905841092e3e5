"""A task in a namespace the operator's selector does not choose is refused (InvalidSpec) with a
message saying how to enable the namespace; once an admin labels it, the operator provisions the
runner's account there and tasks run."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from kubernetes import client
from longtask.core import resource

from tests.fixtures.operator import ENABLED, SELECTIVE_PREFIX, Tasks
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.usefixtures("selective_operator")


@pytest.fixture
def plain_namespace(k8s: client.ApiClient) -> Iterator[str]:
    name = f"{SELECTIVE_PREFIX}{secrets.token_hex(3)}"
    core = client.CoreV1Api(k8s)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def runner_account(k8s: client.ApiClient, namespace: str) -> client.V1ServiceAccount | None:
    try:
        return client.CoreV1Api(k8s).read_namespaced_service_account("longtask-runner", namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_a_task_in_a_namespace_not_enabled_is_refused_saying_how_to_enable_it(
    k8s: client.ApiClient, plain_namespace: str
) -> None:
    tasks = Tasks(k8s, plain_namespace)
    tasks.create("refused", {"command": ["true"]})
    status = tasks.wait_final("refused")["status"]
    assert (status["phase"], status["reason"]) == ("Failed", resource.Reason.INVALID_SPEC.value)
    assert f"namespace {plain_namespace!r} is not enabled for longtask" in status["message"]
    assert (
        f"kubectl label namespace {plain_namespace} longtask.io/enabled=true" in status["message"]
    )
    assert tasks.jobs(tasks.get("refused")["metadata"]["uid"]) == []
    assert runner_account(k8s, plain_namespace) is None

    client.CoreV1Api(k8s).patch_namespace(plain_namespace, {"metadata": {"labels": ENABLED}})
    wait_for(lambda: runner_account(k8s, plain_namespace), 20, "the runner's account")
    tasks.create("enabled", {"command": ["true"]})
    assert tasks.wait_final("enabled")["status"]["phase"] == "Succeeded"
