"""The gateway's raw JSON calls to the API server (`Kube.call`), against a small HTTP server
standing in for it: the requests it sends (method, path, query, content type, body), the answers
it reads, and a Kubernetes Status kept on the error so that the gateway's answer names it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.api import errors
from longtask.api.kube import Kube, UserInfo, settle_environment
from longtask.core import resource

Seen = list[dict[str, Any]]


@pytest.fixture
async def server() -> AsyncIterator[tuple[Kube, Seen]]:
    """A Kube talking to a server that records each request and answers by path."""
    seen: Seen = []

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        seen.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "type": request.content_type,
                "auth": request.headers.get("Authorization"),
                "body": json.loads(raw) if raw else None,
            }
        )
        if request.path.endswith("/missing"):
            status = {"kind": "Status", "message": 'longtasks "missing" not found', "code": 404}
            return web.json_response(status, status=404)
        if request.path.endswith("/subjectaccessreviews"):
            return web.json_response({"status": {"allowed": True}}, status=201)
        if request.path.endswith("/tokenreviews"):
            user = {"username": "alice", "uid": "u1", "groups": ["dev"], "extra": {"k": ["v"]}}
            return web.json_response({"status": {"authenticated": True, "user": user}})
        answer = json.loads(raw) if raw else {"kind": "LongTask", "metadata": {"name": "a"}}
        return web.json_response(answer, status=201 if request.method == "POST" else 200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.api_key = {"BearerToken": "secret"}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    kube = Kube(client.ApiClient(configuration))
    yield kube, seen
    await kube.close()
    await runner.cleanup()


async def test_crud_calls_send_raw_json_to_the_right_paths(server: tuple[Kube, Seen]) -> None:
    kube, seen = server
    body = {"apiVersion": resource.API_VERSION, "kind": "LongTask", "metadata": {"name": "a"}}
    assert await kube.create("ns", body) == body
    assert (await kube.get("ns", "a"))["metadata"]["name"] == "a"
    await kube.list("ns", label_selector="x=y", limit=5, continue_="tok")
    await kube.patch("ns", "a", {"spec": {"cancel": True}})
    await kube.delete("ns", "a")
    base = f"/apis/{resource.API_VERSION}/namespaces/ns/longtasks"
    assert [(s["method"], s["path"]) for s in seen] == [
        ("POST", base),
        ("GET", f"{base}/a"),
        ("GET", base),
        ("PATCH", f"{base}/a"),
        ("DELETE", f"{base}/a"),
    ]
    assert seen[0]["body"] == body and seen[0]["type"] == "application/json"
    assert seen[0]["auth"] == "Bearer secret"
    assert seen[2]["query"] == {"labelSelector": "x=y", "limit": "5", "continue": "tok"}
    assert seen[3]["type"] == "application/merge-patch+json"
    assert seen[4]["body"] == {"propagationPolicy": "Background"}


async def test_a_kubernetes_status_becomes_the_gateways_error(server: tuple[Kube, Seen]) -> None:
    kube, _ = server
    with pytest.raises(ApiException) as raised:
        await kube.get("ns", "missing")
    err = errors.from_kube(raised.value)
    assert (err.status, err.error, err.message) == (
        404,
        "not_found",
        'longtasks "missing" not found',
    )
    assert await kube.service_account_labels("ns", "missing") is None


async def test_reviews_send_the_callers_identity_and_read_the_answer(
    server: tuple[Kube, Seen],
) -> None:
    kube, seen = server
    user = await kube.review_token("their-token")
    assert user == UserInfo("alice", "u1", ("dev",), {"k": ["v"]})
    assert seen[0]["body"]["spec"] == {"token": "their-token"}
    assert await kube.review_access(user, "create", "ns")
    review = seen[1]["body"]
    assert (review["apiVersion"], review["kind"]) == (
        "authorization.k8s.io/v1",
        "SubjectAccessReview",
    )
    assert review["spec"] == {
        "user": "alice",
        "uid": "u1",
        "groups": ["dev"],
        "extra": {"k": ["v"]},
        "resourceAttributes": {
            "namespace": "ns",
            "verb": "create",
            "group": resource.GROUP,
            "resource": "longtasks",
        },
    }


async def test_the_environment_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    configuration = client.Configuration()
    configuration.host = "https://api.example:6443"
    api = client.ApiClient(configuration)
    settle_environment(api)
    assert api.rest_client.proxy == "http://proxy.example:3128"
    # No lookup of the proxy variables and ~/.netrc per request any more.
    assert api.rest_client.pool_manager._trust_env is False
    await api.close()
