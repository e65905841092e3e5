"""The raw JSON calls shared by the operator and the gateway (`longtask.kubeclient.rawjson`),
against a small HTTP server standing in for the API server: the request sent, the answer read
by the client's decoder, the statuses a call treats as absent, a failure's Kubernetes Status kept
on the error, the timeout handed to the request, and the environment read once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.kubeclient import rawjson

from tests.fixtures.apistandin import Seen, standing_in, status, timeouts_of


async def answer(request: web.Request, body: Any) -> web.Response:
    """404 under /missing, 409 under /exists, else the body sent back (or a small object)."""
    if request.path.startswith("/missing"):
        return status(404, "not found")
    if request.path.startswith("/exists"):
        return status(409, "already exists")
    return web.json_response(body if body is not None else {"kind": "Thing"})


@pytest.fixture
async def api() -> AsyncIterator[tuple[client.ApiClient, Seen]]:
    async with standing_in(answer) as (configuration, seen):
        api = client.ApiClient(configuration)
        yield api, seen
        await api.close()


async def test_a_call_sends_raw_json_and_reads_the_answer(
    api: tuple[client.ApiClient, Seen],
) -> None:
    http, seen = api
    kube = rawjson.Client(http, request_timeout=30)
    body = {"spec": {"cancel": True}}
    query = {"fieldManager": "me"}
    assert await kube.call("PATCH", "/a/b", body, query, rawjson.MERGE_PATCH) == body
    assert await kube.call("GET", "/a") == {"kind": "Thing"}
    assert seen[0] == {
        "method": "PATCH",
        "path": "/a/b",
        "query": query,
        "type": "application/merge-patch+json",
        "accept": "application/json",
        "auth": "Bearer secret",
        "body": body,
    }
    assert (seen[1]["type"], seen[1]["body"]) == ("application/json", None)


@pytest.mark.parametrize("loads", [json.loads, orjson.loads])
async def test_the_answer_is_read_by_the_clients_decoder(
    api: tuple[client.ApiClient, Seen], loads: rawjson.Loads
) -> None:
    decoded: list[bytes] = []

    def decode(data: bytes) -> Any:
        decoded.append(data)
        return loads(data)

    kube = rawjson.Client(api[0], request_timeout=30, loads=decode)
    assert await kube.call("POST", "/a", {"n": 1}) == {"n": 1}
    assert [json.loads(d) for d in decoded] == [{"n": 1}]


async def test_a_status_in_absent_answers_none(api: tuple[client.ApiClient, Seen]) -> None:
    kube = rawjson.Client(api[0], request_timeout=30)
    assert await kube.call("GET", "/missing/a", absent=(404,)) is None
    assert await kube.call("POST", "/exists/a", {}, absent=(404, 409)) is None


@pytest.mark.parametrize(("path", "absent"), [("/missing/a", ()), ("/exists/a", (404,))])
async def test_any_other_failure_raises_with_its_kubernetes_status(
    api: tuple[client.ApiClient, Seen], path: str, absent: tuple[int, ...]
) -> None:
    kube = rawjson.Client(api[0], request_timeout=30)
    with pytest.raises(ApiException) as raised:
        await kube.call("GET", path, absent=absent)
    failure = raised.value
    expected = 404 if path.startswith("/missing") else 409
    assert failure.status == expected
    assert json.loads(failure.body or "")["code"] == expected
    assert failure.headers["Content-Type"].startswith("application/json")


async def test_the_clients_timeout_applies_unless_a_call_names_its_own(
    api: tuple[client.ApiClient, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    given = timeouts_of(api[0], monkeypatch)
    kube = rawjson.Client(api[0], request_timeout=30)
    await kube.call("GET", "/a")
    await kube.call("GET", "/a", request_timeout=5)
    assert given == [30, 5]


def test_paths_quote_each_part_whole() -> None:
    assert rawjson.core_path("ns") == "/api/v1/namespaces/ns"
    assert rawjson.core_path("ns", "pods", "a/b c") == "/api/v1/namespaces/ns/pods/a%2Fb%20c"
    jobs = rawjson.group_path("batch", "v1", "ns", "jobs", "j")
    assert jobs == "/apis/batch/v1/namespaces/ns/jobs/j"


async def test_the_environment_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    configuration = client.Configuration()
    configuration.host = "https://api.example:6443"
    api = client.ApiClient(configuration)
    rawjson.settle_environment(api)
    assert api.rest_client.proxy == "http://proxy.example:3128"
    # No lookup of the proxy variables and ~/.netrc per request any more.
    assert api.rest_client.pool_manager._trust_env is False
    await api.close()
