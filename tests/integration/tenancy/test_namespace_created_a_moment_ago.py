"""Acceptance: a LongTask applied to a namespace created a moment earlier runs, with no other
step. The operator serving the namespace provisions the runner's account (marked for longtask)
and its RoleBinding to the runner's ClusterRole before the first Job."""

from __future__ import annotations

import secrets

import pytest
from kubernetes import client
from longtask.core import resource

from tests.fixtures.operator import SHARED_PREFIX, Tasks

pytestmark = pytest.mark.usefixtures("operator_proc")


def test_a_task_in_a_namespace_created_a_moment_ago_just_runs(k8s: client.ApiClient) -> None:
    name = f"{SHARED_PREFIX}new-{secrets.token_hex(3)}"
    core = client.CoreV1Api(k8s)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        tasks = Tasks(k8s, name)
        script = "echo '::progress 50 half'; echo '::result {\"ran\": true}'"
        tasks.create("first", {"command": ["sh", "-c", script]})
        ended = tasks.wait_final("first")["status"]
        assert ended["phase"] == "Succeeded", ended
        assert ended["result"] == {"ran": True}

        account = core.read_namespaced_service_account("longtask-runner", name)
        assert account.metadata.labels[resource.LABEL_RUNNER] == "true"
        assert account.metadata.labels[resource.LABEL_MANAGED_BY] == resource.MANAGED_BY
        binding = client.RbacAuthorizationV1Api(k8s).read_namespaced_role_binding(
            "longtask-runner", name
        )
        assert (binding.role_ref.kind, binding.role_ref.name) == ("ClusterRole", "longtask-runner")
        assert [(s.kind, s.name) for s in binding.subjects] == [
            ("ServiceAccount", "longtask-runner")
        ]
    finally:
        core.delete_namespace(name)
