"""Every client call against an in-process fake gateway (httpx.MockTransport), sync and async:
the request it sends, the model it returns, the error class of each error status."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import httpx
import pytest
from longtask.client import AsyncClient, Client, errors
from longtask.core import wire

from tests.unit.cli import sse

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, token: str | None = "tok") -> Client:
    return Client("http://gw", token, namespace="ns", transport=httpx.MockTransport(handler))


def test_submit_sends_camel_case_json_auth_and_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=sse.task(phase="Pending"))

    with client(handler) as lt:
        task = lt.submit(
            command=["sleep", "1"],
            timeout_seconds=30,
            retry={"max_attempts": 2},
            idempotency_key="k-1",
        )
    assert task.name == "t1"
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/v1/namespaces/ns/tasks")
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["Idempotency-Key"] == "k-1"
    assert json.loads(request.content) == {
        "command": ["sleep", "1"],
        "timeoutSeconds": 30,
        "retry": {"maxAttempts": 2},
        "params": {},
        "env": [],
        "labels": {},
        "annotations": {},
    }


def test_submit_refuses_an_invalid_body_before_sending() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    with client(handler) as lt, pytest.raises(ValueError, match="exactly one of task"):
        lt.submit(command=["a"], task="m:f")


def test_list_follows_continue_tokens_across_pages() -> None:
    pages = {
        None: {"items": [sse.task(name="a"), sse.task(name="b")], "continue": "p2"},
        "p2": {"items": [sse.task(name="c")], "continue": None},
    }
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        return httpx.Response(200, json=pages[request.url.params.get("continue")])

    with client(handler) as lt:
        names = [t.name for t in lt.list(phase="Running", label_selector="team=a", page_size=2)]
    assert names == ["a", "b", "c"]
    assert seen == [
        {"phase": "Running", "labelSelector": "team=a", "limit": "2"},
        {"phase": "Running", "labelSelector": "team=a", "limit": "2", "continue": "p2"},
    ]


@pytest.mark.parametrize(
    ("call", "method", "path", "status"),
    [
        ("get", "GET", "/v1/namespaces/ns/tasks/t1", 200),
        ("cancel", "POST", "/v1/namespaces/ns/tasks/t1/cancel", 202),
        ("retry", "POST", "/v1/namespaces/ns/tasks/t1/retry", 201),
    ],
)
def test_task_calls_hit_their_route(call: str, method: str, path: str, status: int) -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(status, json=sse.task())

    with client(handler) as lt:
        task = getattr(lt, call)("t1")
    assert isinstance(task, wire.Task)
    assert seen == [(method, path)]


def test_delete_sends_delete_and_accepts_204() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(204)

    with client(handler) as lt:
        lt.delete("t1")  # raises on anything but success
    assert seen == [("DELETE", "/v1/namespaces/ns/tasks/t1")]


def test_names_are_path_escaped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path == b"/v1/namespaces/ns/tasks/a%2F..%2Fb"
        return httpx.Response(404, json={"error": "not_found", "message": "no"})

    with client(handler) as lt, pytest.raises(errors.NotFound):
        lt.get("a/../b")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.InvalidRequest),
        (401, errors.Unauthorized),
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (413, errors.InvalidRequest),
        (422, errors.InvalidRequest),
        (503, errors.ServerError),
        (418, errors.ApiError),
    ],
)
def test_error_statuses_map_to_exception_classes(status: int, error: type[Exception]) -> None:
    body = {"error": "code_x", "message": "what went wrong", "details": [{"field": "f"}]}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    with client(handler) as lt, pytest.raises(error) as info:
        lt.get("t1")
    assert type(info.value) is error
    assert isinstance(info.value, errors.ApiError)
    assert (info.value.status, info.value.error, info.value.message) == (
        status,
        "code_x",
        "what went wrong",
    )
    assert info.value.details == [{"field": "f"}]


def test_error_without_a_json_body_still_has_its_class() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    with client(handler) as lt, pytest.raises(errors.ServerError) as info:
        lt.get("t1")
    assert info.value.status == 502


def test_a_success_of_the_wrong_shape_is_an_invalid_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hello": "world"})

    with client(handler) as lt, pytest.raises(errors.InvalidResponse):
        lt.get("t1")


def test_unreachable_gateway_is_one_error_type() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with client(handler) as lt, pytest.raises(errors.GatewayUnreachable):
        lt.get("t1")


def test_no_authorization_header_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LONGTASK_TOKEN", raising=False)
    monkeypatch.chdir("/")

    def handler(request: httpx.Request) -> httpx.Response:
        assert "Authorization" not in request.headers
        return httpx.Response(200, json=sse.task())

    with client(handler, token=None) as lt:
        lt.get("t1")


def test_logs_reads_pages_until_empty() -> None:
    pages = {
        None: {"items": [{"id": "1-0", "line": "a"}, {"id": "2-0", "line": "b"}], "next": "2-0"},
        "2-0": {"items": [{"id": "3-0", "attempt": 2, "line": "c"}], "next": "3-0"},
        "3-0": {"items": [], "next": None},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/namespaces/ns/tasks/t1/logs"
        return httpx.Response(200, json=pages[request.url.params.get("after")])

    with client(handler) as lt:
        assert [line.line for line in lt.logs("t1")] == ["a", "b", "c"]


def test_logs_follow_reads_the_sse_stream_and_resumes_by_id() -> None:
    def log(id: str, line: str) -> bytes:
        return sse.frame("log", {"id": id, "attempt": 1, "line": line}, id)

    bodies = [
        log("1-0", "a") + log("2-0", "b"),  # then the connection drops
        log("3-0", "c") + sse.frame("end", {"type": "end"}),
    ]
    seen: list[tuple[str | None, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.params.get("follow"), request.headers.get("Last-Event-ID")))
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=bodies.pop(0)
        )

    with client(handler) as lt:
        lt.config = dataclasses.replace(lt.config, initial_delay=0)
        lines = list(lt.logs("t1", follow=True))
    assert [(line.id, line.line, line.attempt) for line in lines] == [
        ("1-0", "a", 1),
        ("2-0", "b", 1),
        ("3-0", "c", 1),
    ]
    assert seen == [("true", None), ("true", "2-0")]


def test_deadletters_pages_with_before() -> None:
    pages = {
        None: {"items": [{"id": "9-0", "name": "x", "error": "boom"}], "next": "9-0"},
        "9-0": {"items": [{"id": "8-0", "name": "y"}], "next": None},
    }
    namespaces: set[str | None] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/deadletters"
        namespaces.add(request.url.params.get("namespace"))
        return httpx.Response(200, json=pages[request.url.params.get("before")])

    with client(handler) as lt:
        assert [d.name for d in lt.deadletters(namespace="team")] == ["x", "y"]
    assert namespaces == {"team"}


async def test_async_client_makes_the_same_calls() -> None:
    seen: list[tuple[str, str]] = []
    pages = {None: {"items": [sse.task(name="a")], "continue": "p2"}, "p2": {"items": []}}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.method == "DELETE":
            return httpx.Response(204)
        if request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"error": "not_found", "message": "no"})
        if request.url.path == "/v1/namespaces/ns/tasks" and request.method == "GET":
            return httpx.Response(200, json=pages[request.url.params.get("continue")])
        return httpx.Response(200, json=sse.task())

    transport = httpx.MockTransport(handler)
    async with AsyncClient("http://gw", "tok", namespace="ns", transport=transport) as lt:
        assert (await lt.submit({"command": ["true"]})).name == "t1"
        assert (await lt.get("t1")).uid == "u1"
        assert [t.name async for t in lt.list()] == ["a"]
        await lt.cancel("t1")
        await lt.retry("t1")
        await lt.delete("t1")
        with pytest.raises(errors.NotFound):
            await lt.get("missing")
    assert seen == [
        ("POST", "/v1/namespaces/ns/tasks"),
        ("GET", "/v1/namespaces/ns/tasks/t1"),
        ("GET", "/v1/namespaces/ns/tasks"),
        ("GET", "/v1/namespaces/ns/tasks"),
        ("POST", "/v1/namespaces/ns/tasks/t1/cancel"),
        ("POST", "/v1/namespaces/ns/tasks/t1/retry"),
        ("DELETE", "/v1/namespaces/ns/tasks/t1"),
        ("GET", "/v1/namespaces/ns/tasks/missing"),
    ]
