"""The runner's account in the namespaces where tasks may run: put back when deleted or changed,
removed (what the operator made) once the namespace is no longer chosen and its tasks ended."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from kubernetes import client
from longtask.core import resource

from tests.fixtures.operator import ENABLED, SELECTIVE_PREFIX
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.usefixtures("selective_operator")
RUNNER = "longtask-runner"


@pytest.fixture
def enabled_namespace(k8s: client.ApiClient) -> Iterator[str]:
    name = f"{SELECTIVE_PREFIX}{secrets.token_hex(3)}"
    core = client.CoreV1Api(k8s)
    meta = client.V1ObjectMeta(name=name, labels=dict(ENABLED))
    core.create_namespace(client.V1Namespace(metadata=meta))
    yield name
    core.delete_namespace(name)


def account(k8s: client.ApiClient, namespace: str) -> client.V1ServiceAccount | None:
    try:
        return client.CoreV1Api(k8s).read_namespaced_service_account(RUNNER, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def binding(k8s: client.ApiClient, namespace: str) -> client.V1RoleBinding | None:
    try:
        return client.RbacAuthorizationV1Api(k8s).read_namespaced_role_binding(RUNNER, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def marked(found: client.V1ServiceAccount | None) -> bool:
    return found is not None and (found.metadata.labels or {}).get(resource.LABEL_RUNNER) == "true"


def test_a_deleted_or_changed_runner_account_is_put_back(
    k8s: client.ApiClient, enabled_namespace: str
) -> None:
    core, rbac, ns = client.CoreV1Api(k8s), client.RbacAuthorizationV1Api(k8s), enabled_namespace
    first = wait_for(lambda: account(k8s, ns), 20, "the account")
    found = wait_for(lambda: binding(k8s, ns), 20, "the binding")

    core.delete_namespaced_service_account(RUNNER, ns)

    def put_back() -> bool:
        again = account(k8s, ns)
        return again is not None and again.metadata.uid != first.metadata.uid and marked(again)

    wait_for(put_back, 20, "the account put back")

    core.patch_namespaced_service_account(
        RUNNER, ns, {"metadata": {"labels": {resource.LABEL_RUNNER: None}}}
    )
    wait_for(lambda: marked(account(k8s, ns)), 20, "the mark put back")

    extra = {"kind": "ServiceAccount", "name": "default", "namespace": ns}
    subjects = [s.to_dict() for s in found.subjects] + [extra]
    rbac.patch_namespaced_role_binding(RUNNER, ns, {"subjects": subjects})

    def only_the_runner() -> bool:
        now = binding(k8s, ns)
        return now is not None and [s.name for s in now.subjects] == [RUNNER]

    wait_for(only_the_runner, 20, "the binding's subjects put back")


def test_an_account_deleted_the_moment_it_appears_is_put_back(
    k8s: client.ApiClient, enabled_namespace: str
) -> None:
    """Deleted before a watch of the new namespace's objects may have begun: only a list that
    replaces what the operator holds, not a watch event, tells the operator it is gone."""
    core, ns = client.CoreV1Api(k8s), enabled_namespace
    first = wait_for(lambda: account(k8s, ns), 20, "the account", interval=0.005)
    core.delete_namespaced_service_account(RUNNER, ns)

    def put_back() -> bool:
        again = account(k8s, ns)
        return again is not None and again.metadata.uid != first.metadata.uid and marked(again)

    wait_for(put_back, 20, "the account put back")


def test_a_namespace_no_longer_enabled_loses_the_runner_account(
    k8s: client.ApiClient, enabled_namespace: str
) -> None:
    ns = enabled_namespace
    wait_for(lambda: binding(k8s, ns) and account(k8s, ns), 20, "the account and binding")
    client.CoreV1Api(k8s).patch_namespace(
        ns, {"metadata": {"labels": {"longtask.io/enabled": None}}}
    )
    wait_for(
        lambda: account(k8s, ns) is None and binding(k8s, ns) is None,
        20,
        "the account and binding removed",
    )
