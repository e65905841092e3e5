"""Attack: whoever may create a LongTask names a service account of the namespace that can do
more (read Secrets, say) than the runner's. Only an account marked for longtask use may run
tasks: the gateway answers 422 naming the field, and the operator refuses a LongTask made with
kubectl (InvalidSpec). A marked account of the namespace's own is accepted."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.fixtures.gateway import Gateway
from tests.fixtures.operator import Tasks
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.usefixtures("operator_proc")


def make_account(k8s: client.ApiClient, namespace: str, name: str, **labels: str) -> None:
    meta = client.V1ObjectMeta(name=name, labels=labels or None)
    client.CoreV1Api(k8s).create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=meta)
    )


def test_an_unmarked_service_account_is_refused_at_submit_and_by_the_operator(
    gateway: Gateway, k8s: client.ApiClient, tasks: Tasks
) -> None:
    namespace = tasks.namespace
    make_account(k8s, namespace, "reads-secrets", app="backup")
    with gateway.client() as http:
        for account, complaint in (
            ("reads-secrets", "is not marked for longtask use"),
            ("nobody", "does not exist in namespace"),
        ):
            refused = http.post(
                f"/v1/namespaces/{namespace}/tasks",
                json={"name": f"as-{account}", "command": ["true"], "serviceAccountName": account},
            )
            assert refused.status_code == 422, refused.text
            (detail,) = refused.json()["details"]
            assert detail["field"] == "body.serviceAccountName"
            assert complaint in detail["message"]
    assert not tasks.exists("as-reads-secrets")

    tasks.create("by-kubectl", {"command": ["true"], "serviceAccountName": "reads-secrets"})
    status = tasks.wait_final("by-kubectl")["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "InvalidSpec")
    assert "spec.serviceAccountName: service account 'reads-secrets'" in status["message"]
    assert "kubectl label serviceaccount reads-secrets" in status["message"]
    assert tasks.jobs(tasks.get("by-kubectl")["metadata"]["uid"]) == []


def test_a_marked_account_of_the_namespace_is_accepted(
    gateway: Gateway, k8s: client.ApiClient, tasks: Tasks
) -> None:
    namespace = tasks.namespace
    make_account(k8s, namespace, "team-runner", **{"longtask.io/runner": "true"})
    with gateway.client() as http:
        accepted = http.post(
            f"/v1/namespaces/{namespace}/tasks",
            json={"name": "as-team", "command": ["true"], "serviceAccountName": "team-runner"},
        )
    assert accepted.status_code == 201, accepted.text
    uid = accepted.json()["uid"]
    (job,) = wait_for(lambda: tasks.jobs(uid), 30, "the task's Job")
    assert job.spec.template.spec.service_account_name == "team-runner"
