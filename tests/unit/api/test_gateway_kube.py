"""The gateway's Kubernetes calls (`Kube`, raw JSON through `longtask.kubeclient.rawjson`),
against a small HTTP server standing in for the API server: the requests it sends (method, path,
query, content type, body), the answers it reads, its timeouts and decoder, and a Kubernetes
Status kept on the error so that the gateway's answer names it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.api import errors, kube
from longtask.api.kube import Kube, UserInfo
from longtask.core import resource

from tests.fixtures.apistandin import Seen, standing_in, status, timeouts_of


async def answer(request: web.Request, body: Any) -> web.Response:
    if request.path.endswith("/missing"):
        return status(404, 'longtasks "missing" not found')
    if request.path.endswith("/subjectaccessreviews"):
        return web.json_response({"status": {"allowed": True}}, status=201)
    if request.path.endswith("/tokenreviews"):
        user = {"username": "alice", "uid": "u1", "groups": ["dev"], "extra": {"k": ["v"]}}
        return web.json_response({"status": {"authenticated": True, "user": user}})
    answer = body if body is not None else {"kind": "LongTask", "metadata": {"name": "a"}}
    return web.json_response(answer, status=201 if request.method == "POST" else 200)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Kube, Seen]]:
    """A Kube talking to a server that records each request and answers by path."""
    async with standing_in(answer) as (configuration, seen):
        kube = Kube(client.ApiClient(configuration))
        yield kube, seen
        await kube.close()


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


async def test_calls_wait_15_s_ping_5_s_and_decode_with_the_standard_library(
    server: tuple[Kube, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway, _ = server
    given = timeouts_of(gateway.api, monkeypatch)
    await gateway.get("ns", "a")
    await gateway.ping()
    assert given == [kube.REQUEST_TIMEOUT, 5] == [15.0, 5]
    assert gateway.loads is json.loads  # orjson is not in the gateway's extra


async def test_the_gateways_client_reads_the_environment_once(server: tuple[Kube, Seen]) -> None:
    gateway, _ = server
    assert gateway.api.rest_client.pool_manager._trust_env is False  # rawjson.settle_environment
