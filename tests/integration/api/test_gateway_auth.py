"""Auth modes against the real API server: TokenReview and SubjectAccessReview with real RBAC,
namespace-scoped API keys, and `none` refusing anything but loopback. No secret in the logs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import httpx
from kubernetes import client
from longtask.api import apikeys
from longtask.core import resource

from tests.fixtures.gateway import Gateway, GatewayFactory, create_task

Account = Callable[[str, list[str]], str]


def account_token(k8s: client.ApiClient, namespace: str, name: str, verbs: list[str]) -> str:
    """A service account in `namespace` allowed `verbs` on longtasks there; its bearer token."""
    core, rbac = client.CoreV1Api(k8s), client.RbacAuthorizationV1Api(k8s)
    meta = client.V1ObjectMeta(name=name)
    core.create_namespaced_service_account(namespace, client.V1ServiceAccount(metadata=meta))
    if verbs:
        rule = client.V1PolicyRule(
            api_groups=[resource.GROUP], resources=[resource.PLURAL], verbs=verbs
        )
        rbac.create_namespaced_role(namespace, client.V1Role(metadata=meta, rules=[rule]))
        rbac.create_namespaced_role_binding(
            namespace,
            client.V1RoleBinding(
                metadata=meta,
                role_ref=client.V1RoleRef(
                    api_group="rbac.authorization.k8s.io", kind="Role", name=name
                ),
                subjects=[
                    client.RbacV1Subject(kind="ServiceAccount", name=name, namespace=namespace)
                ],
            ),
        )
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    issued = core.create_namespaced_service_account_token(name, namespace, request)
    return str(issued.status.token)


def call(gw: Gateway, method: str, path: str, token: str | None = None, **kw: object) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=gw.url, headers=headers, timeout=30) as http:
        return http.request(method, path, **kw).status_code  # type: ignore[arg-type]


def test_kubernetes_mode_uses_token_and_access_reviews(
    gateway_factory: GatewayFactory, namespace: str, k8s: client.ApiClient
) -> None:
    gw = gateway_factory(auth_mode="kubernetes", auth_cache_seconds="0")
    tasks = f"/v1/namespaces/{namespace}/tasks"
    reader = account_token(k8s, namespace, "reader", ["get", "list", "watch", "create"])
    nobody = account_token(k8s, namespace, "nobody", [])

    assert call(gw, "GET", tasks) == 401
    assert call(gw, "GET", tasks, "not-a-token") == 401
    assert call(gw, "GET", tasks, nobody) == 403
    assert call(gw, "GET", tasks, reader) == 200
    assert call(gw, "POST", tasks, reader, json={"name": "mine", "command": ["x"]}) == 201
    assert call(gw, "GET", f"{tasks}/mine", reader) == 200
    assert call(gw, "POST", f"{tasks}/mine/stream-token", reader) == 200
    # Allowed verbs only, and only in its own namespace.
    assert call(gw, "DELETE", f"{tasks}/mine", reader) == 403
    assert call(gw, "POST", f"{tasks}/mine/cancel", reader) == 403
    assert call(gw, "GET", "/v1/namespaces/default/tasks", reader) == 403
    assert call(gw, "GET", "/v1/deadletters", reader) == 403  # needs all namespaces
    assert call(gw, "GET", f"/v1/deadletters?namespace={namespace}", reader) == 200
    assert reader not in gw.log() and nobody not in gw.log()


def test_api_keys_are_scoped_to_namespaces(gateway_factory: GatewayFactory, namespace: str) -> None:
    scoped = "scoped-key-for-one-namespace"
    gw = gateway_factory(api_keys=f"{apikeys.hash_key(scoped)}:{namespace}")
    tasks = f"/v1/namespaces/{namespace}/tasks"
    assert call(gw, "GET", tasks, scoped) == 200
    assert call(gw, "GET", "/v1/namespaces/default/tasks", scoped) == 403
    assert call(gw, "GET", "/v1/deadletters", scoped) == 403
    assert call(gw, "GET", tasks, gw.key) == 200  # the all-namespaces key
    assert call(gw, "GET", tasks, "wrong") == 401


def test_no_secret_in_logs(gateway: Gateway, namespace: str) -> None:
    create_task(gateway, namespace, name="secretive")
    with gateway.client() as http:
        token = http.post(f"/v1/namespaces/{namespace}/tasks/secretive/stream-token").json()
    with httpx.Client(base_url=gateway.url, timeout=5) as anonymous:
        anonymous.get(f"/v1/namespaces/{namespace}/tasks/secretive/events?token=bogus{token}")
    log = gateway.log()
    assert gateway.key and gateway.key not in log
    assert token["token"] not in log
    assert "token=<redacted>" in log


def test_none_mode_only_on_loopback(gateway_factory: GatewayFactory, namespace: str) -> None:
    refused = gateway_factory(auth_mode="none", host="0.0.0.0", start=False)
    result = subprocess.run(
        refused.argv, env=refused.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr

    open_gw = gateway_factory(auth_mode="none")
    assert call(open_gw, "GET", f"/v1/namespaces/{namespace}/tasks") == 200
