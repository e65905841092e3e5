"""Contract tests of every gateway endpoint against the real stack, error cases included.

A task here is only an object: no operator runs, the tests play runner and operator by
writing stream entries and patching status. No response may be a 5xx.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from kubernetes import client as k8s_client
from longtask.core import deadletters, events, keys, resource
from websockets.sync.client import connect as ws_connect

from tests.fixtures.gateway import (
    Gateway,
    add_event,
    create_task,
    iter_sse,
    patch_status,
    read_events,
)


@pytest.fixture
def http(gateway: Gateway) -> Iterator[httpx.Client]:
    """A client that checks every answer: never a 5xx, errors always in the JSON shape."""

    def check(response: httpx.Response) -> None:
        response.read()
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            body = response.json()
            assert {"error", "message", "details"} <= body.keys(), body

    with gateway.client(event_hooks={"response": [check]}) as c:
        yield c


def tasks_path(namespace: str) -> str:
    return f"/v1/namespaces/{namespace}/tasks"


def test_health_ready_and_docs(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz").json()
    assert ready["ready"] and ready["kubernetes"]["ok"] and ready["redis"]["ok"]
    assert http.get("/docs").status_code == 200
    spec = http.get("/openapi.json").json()
    assert "/v1/namespaces/{namespace}/tasks" in spec["paths"]
    assert {"TaskCreate", "Task", "TaskList", "Error"} <= spec["components"]["schemas"].keys()


def test_submit_get_list(http: httpx.Client, namespace: str) -> None:
    created = http.post(
        tasks_path(namespace),
        json={"task": "pkg.mod:run", "params": {"n": 3}, "labels": {"team": "a"}},
    )
    assert created.status_code == 201
    task = created.json()
    assert task["namespace"] == namespace and task["uid"] and task["phase"] == "Pending"
    assert task["name"].startswith("task-")
    assert task["links"]["events"].endswith(f"/tasks/{task['name']}/events")
    got = http.get(f"{tasks_path(namespace)}/{task['name']}").json()
    assert got["uid"] == task["uid"] and got["spec"]["params"] == {"n": 3}

    named = http.post(tasks_path(namespace), json={"name": "named", "command": ["true"]})
    assert named.status_code == 201 and named.json()["name"] == "named"
    prefixed = http.post(tasks_path(namespace), json={"generateName": "gen-", "command": ["x"]})
    assert prefixed.json()["name"].startswith("gen-")

    listing = http.get(tasks_path(namespace)).json()
    assert {t["name"] for t in listing["items"]} == {task["name"], "named", prefixed.json()["name"]}
    by_label = http.get(tasks_path(namespace), params={"labelSelector": "team=a"}).json()
    assert [t["name"] for t in by_label["items"]] == [task["name"]]


def test_list_paging_and_phase_filter(
    http: httpx.Client, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    names = [f"p{i}" for i in range(5)]
    for name in names:
        http.post(tasks_path(namespace), json={"name": name, "command": ["true"]})
    seen: list[str] = []
    page = http.get(tasks_path(namespace), params={"limit": 2}).json()
    seen += [t["name"] for t in page["items"]]
    while page["continue"]:
        page = http.get(tasks_path(namespace), params={"limit": 2, "continue": page["continue"]})
        page = page.json()
        seen += [t["name"] for t in page["items"]]
    assert sorted(seen) == names

    patch_status(k8s, namespace, "p3", phase="Running", progress=5)
    running = http.get(tasks_path(namespace), params={"phase": "Running"}).json()
    assert [t["name"] for t in running["items"]] == ["p3"]
    assert http.get(tasks_path(namespace), params={"phase": "Bogus"}).status_code == 422


@pytest.mark.parametrize(
    ("body", "status", "error", "field"),
    [
        ({"command": ["x"], "bogus": 1}, 422, "invalid", "body.bogus"),
        ({}, 422, "invalid", "body"),
        ({"command": ["x"], "name": "Not_A_Name"}, 422, "invalid", "body.name"),
        ({"command": ["x"], "params": {"x": "a" * (65 * 1024)}}, 422, "invalid", "body.params"),
        ({"command": ["x"], "labels": {"a": "b c"}}, 422, "invalid", "body.labels"),
        ({"command": "not-a-list"}, 422, "invalid", "body.command"),
    ],
)
def test_submit_validation_errors_name_the_field(
    http: httpx.Client, namespace: str, body: dict[str, Any], status: int, error: str, field: str
) -> None:
    response = http.post(tasks_path(namespace), json=body)
    assert response.status_code == status
    payload = response.json()
    assert payload["error"] == error
    assert field in {d["field"] for d in payload["details"]}, payload


def test_params_too_large_message_is_clear(http: httpx.Client, namespace: str) -> None:
    response = http.post(
        tasks_path(namespace), json={"command": ["x"], "params": {"x": "a" * (65 * 1024)}}
    )
    assert "at most 65536" in response.json()["message"]


def test_malformed_and_oversized_bodies(http: httpx.Client, namespace: str) -> None:
    headers = {"Content-Type": "application/json"}
    malformed = http.post(tasks_path(namespace), content=b'{"command": [', headers=headers)
    assert malformed.status_code == 400 and malformed.json()["error"] == "malformed_json"
    huge = json.dumps({"command": ["x"], "params": {"x": "a" * (300 * 1024)}})
    too_large = http.post(tasks_path(namespace), content=huge, headers=headers)
    assert too_large.status_code == 413 and too_large.json()["error"] == "too_large"
    not_json = http.post(tasks_path(namespace), content=b"hello", headers=headers)
    assert not_json.status_code == 400

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield huge.encode()[:200_000]
        yield huge.encode()[200_000:]

    chunked = http.post(tasks_path(namespace), content=chunks(), headers=headers)
    assert chunked.status_code == 413 and chunked.json()["error"] == "too_large"


def test_an_unknown_namespace_is_404_on_every_read(http: httpx.Client, namespace: str) -> None:
    unknown = f"nope-{secrets.token_hex(3)}"
    for path in (
        tasks_path(unknown),
        f"{tasks_path(unknown)}/any",
        f"{tasks_path(unknown)}/any/logs",
        f"{tasks_path(unknown)}/any/events",
        f"/v1/namespaces/{unknown}/events",
    ):
        response = http.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"] == "namespace_not_found", path
        assert unknown in response.json()["message"]
    token = http.post(f"/v1/namespaces/{unknown}/stream-token")
    assert token.status_code == 404
    # An existing namespace without tasks is an empty list.
    assert http.get(tasks_path(namespace)).json()["items"] == []


def test_not_found_cases(http: httpx.Client, namespace: str) -> None:
    assert http.get(f"{tasks_path(namespace)}/missing").status_code == 404
    other_ns = f"nope-{secrets.token_hex(3)}"
    created = http.post(tasks_path(other_ns), json={"command": ["x"]})
    assert created.status_code == 404  # the namespace does not exist
    http.post(tasks_path(namespace), json={"name": "here", "command": ["x"]})
    assert http.get(f"{tasks_path('default')}/here").status_code == 404  # wrong namespace
    for suffix in ("cancel", "retry", "stream-token"):
        assert http.post(f"{tasks_path(namespace)}/missing/{suffix}").status_code == 404
    assert http.get(f"{tasks_path(namespace)}/missing/events").status_code == 404
    assert http.get(f"{tasks_path(namespace)}/missing/logs").status_code == 404
    assert http.delete(f"{tasks_path(namespace)}/missing").status_code == 404
    assert http.get("/v1/nothing-here").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/namespaces/Bad_NS/tasks",
        "/v1/namespaces/ok/tasks/Bad_Name",
        "/v1/namespaces/ok/tasks/" + "a" * 64,
        "/v1/namespaces/ok/tasks?limit=0",
        "/v1/namespaces/ok/tasks?limit=100000",
        "/v1/namespaces/ok/tasks/x/events?lastEventId=abc",
        "/v1/deadletters?before=zzz",
    ],
)
def test_bad_paths_and_queries_are_422(http: httpx.Client, path: str) -> None:
    assert http.get(path).status_code == 422


def test_bad_label_selector_is_400(http: httpx.Client, namespace: str) -> None:
    response = http.get(tasks_path(namespace), params={"labelSelector": "a in (b"})
    assert response.status_code == 400


def test_cancel_retry_delete(http: httpx.Client, namespace: str, k8s: k8s_client.ApiClient) -> None:
    http.post(
        tasks_path(namespace), json={"name": "victim", "command": ["x"], "labels": {"k": "v"}}
    )
    cancelled = http.post(f"{tasks_path(namespace)}/victim/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["cancelRequested"] is True

    not_failed = http.post(f"{tasks_path(namespace)}/victim/retry")
    assert not_failed.status_code == 409 and not_failed.json()["error"] == "not_retryable"

    patch_status(k8s, namespace, "victim", phase="Failed", message="boom")
    finished = http.post(f"{tasks_path(namespace)}/victim/cancel")
    assert finished.status_code == 409 and finished.json()["error"] == "finished"
    assert "(Failed)" in finished.json()["message"]
    retried = http.post(f"{tasks_path(namespace)}/victim/retry")
    assert retried.status_code == 201
    again = retried.json()
    assert again["retryOf"] == "victim" and again["name"].startswith("victim-retry-")
    assert again["labels"] == {"k": "v"} and again["cancelRequested"] is False
    assert again["annotations"][resource.ANNOTATION_RETRY_OF] == "victim"

    assert http.delete(f"{tasks_path(namespace)}/victim").status_code == 204
    assert http.get(f"{tasks_path(namespace)}/victim").status_code == 404


def test_a_cancelled_task_can_be_retried(
    http: httpx.Client, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    http.post(tasks_path(namespace), json={"name": "stopped", "command": ["x"]})
    http.post(f"{tasks_path(namespace)}/stopped/cancel")
    patch_status(k8s, namespace, "stopped", phase="Cancelled")
    retried = http.post(f"{tasks_path(namespace)}/stopped/retry")
    assert retried.status_code == 201, retried.text
    assert retried.json()["retryOf"] == "stopped" and retried.json()["cancelRequested"] is False
    patch_status(k8s, namespace, "stopped", phase="Succeeded")
    refused = http.post(f"{tasks_path(namespace)}/stopped/retry")
    assert refused.status_code == 409 and "Failed or Cancelled" in refused.json()["message"]


def test_logs_page_and_follow(
    http: httpx.Client, gateway: Gateway, namespace: str, redis_client: redis.Redis
) -> None:
    task = create_task(gateway, namespace, name="logged")
    for i in range(5):
        redis_client.xadd(keys.logs(task["uid"]), {"line": f"line {i}", "attempt": "1"})
    page = http.get(f"{tasks_path(namespace)}/logged/logs", params={"limit": 3}).json()
    assert [line["line"] for line in page["items"]] == ["line 0", "line 1", "line 2"]
    rest = http.get(f"{tasks_path(namespace)}/logged/logs", params={"after": page["next"]})
    assert [line["line"] for line in rest.json()["items"]] == ["line 3", "line 4"]
    assert rest.json()["items"][0]["attempt"] == 1

    add_event(redis_client, task["uid"], events.end(1, resource.Phase.SUCCEEDED))
    followed = read_events(gateway, f"{tasks_path(namespace)}/logged/logs?follow=true")
    assert [e["data"]["line"] for e in followed if e["event"] == "log"] == [
        f"line {i}" for i in range(5)
    ]
    assert followed[-1]["event"] == "end"


def test_dead_letters(http: httpx.Client, namespace: str, redis_client: redis.Redis) -> None:
    for i in range(3):
        letter = deadletters.DeadLetter(
            namespace=namespace, name=f"dead{i}", uid=f"u{i}", error="boom",
            reason="AttemptFailed", attempts=3, ts=1,
        )  # fmt: skip
        redis_client.xadd(keys.DEADLETTER, deadletters.encode(letter))  # type: ignore[arg-type]
    found = http.get("/v1/deadletters", params={"namespace": namespace, "limit": 2}).json()
    assert [d["name"] for d in found["items"]] == ["dead2", "dead1"]
    assert found["items"][0]["attempts"] == 3 and found["items"][0]["error"] == "boom"
    older = http.get(
        "/v1/deadletters", params={"namespace": namespace, "before": found["next"]}
    ).json()
    assert [d["name"] for d in older["items"]] == ["dead0"]
    # Nothing is older than a stream's start; a blank `before` is no bound at all.
    assert http.get("/v1/deadletters", params={"before": "0-0"}).json()["items"] == []
    blank = http.get("/v1/deadletters", params={"namespace": namespace, "before": "\t"}).json()
    assert [d["name"] for d in blank["items"]] == ["dead2", "dead1", "dead0"]


def test_events_stream_snapshot_then_entries_then_end(
    gateway: Gateway, namespace: str, redis_client: redis.Redis
) -> None:
    task = create_task(gateway, namespace, name="streamed")
    ids = [add_event(redis_client, task["uid"], events.progress(1, p, "m")) for p in (10, 50)]
    ids.append(add_event(redis_client, task["uid"], events.end(1, resource.Phase.SUCCEEDED)))
    got = read_events(gateway, f"{tasks_path(namespace)}/streamed/events")
    assert got[0]["event"] == "snapshot" and got[0]["id"] is None
    assert got[0]["retry"] is not None
    assert got[0]["data"]["uid"] == task["uid"]
    assert [e["id"] for e in got[1:]] == ids
    assert [e["event"] for e in got[1:]] == ["progress", "progress", "end"]


def test_a_tail_stream_starts_from_the_current_state(
    gateway: Gateway, namespace: str, redis_client: redis.Redis
) -> None:
    task = create_task(gateway, namespace, name="tailed")
    uid, path = task["uid"], f"{tasks_path(namespace)}/tailed/events?tail=true"
    add_event(redis_client, uid, events.status(1, resource.Phase.RUNNING, "PodRunning", "runs"))
    ids = [add_event(redis_client, uid, events.progress(1, p, f"at {p}")) for p in (10, 40)]

    # The snapshot is the task as of the last entry (the status lags: it says Pending, no
    # progress), with that entry's id; nothing older follows it.
    got = read_events(gateway, path, count=1)
    assert got[0]["event"] == "snapshot" and got[0]["id"] == ids[-1]
    snap = got[0]["data"]
    assert (snap["phase"], snap["progress"], snap["message"]) == ("Running", 40, "at 40")
    assert snap["uid"] == uid and snap["attempt"] == 1

    later = add_event(redis_client, uid, events.progress(1, 70, "at 70"))
    end = add_event(redis_client, uid, events.end(1, resource.Phase.SUCCEEDED))
    got = read_events(gateway, path, headers={"Last-Event-ID": ids[0]})
    # Resumed: the snapshot as of the resume id, then what came after it.
    assert (got[0]["id"], got[0]["data"]["progress"]) == (ids[0], 10)
    assert [e["id"] for e in got[1:]] == [ids[1], later, end]

    # A finished task: the snapshot stops before the end, which still follows and closes.
    got = read_events(gateway, path)
    assert [(e["event"], e["id"]) for e in got] == [("snapshot", later), ("end", end)]
    assert got[0]["data"]["progress"] == 70


def test_stream_tokens_open_only_their_stream(
    gateway: Gateway, namespace: str, redis_client: redis.Redis
) -> None:
    task = create_task(gateway, namespace, name="tokened")
    create_task(gateway, namespace, name="other")
    add_event(redis_client, task["uid"], events.end(1, resource.Phase.SUCCEEDED))
    with gateway.client() as authed:
        token = authed.post(f"{tasks_path(namespace)}/tokened/stream-token").json()
    with httpx.Client(base_url=gateway.url) as anonymous:  # no Authorization header
        events_path = f"{tasks_path(namespace)}/tokened/events"
        assert anonymous.get(events_path).status_code == 401
        with anonymous.stream("GET", token["url"]) as response:
            assert response.status_code == 200
        other = anonymous.get(f"{tasks_path(namespace)}/other/events?token={token['token']}")
        assert other.status_code == 401
        task_get = anonymous.get(f"{tasks_path(namespace)}/tokened?token={token['token']}")
        assert task_get.status_code == 401


def test_namespace_stream(gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient) -> None:
    create_task(gateway, namespace, name="one")
    path = f"/v1/namespaces/{namespace}/events"
    with (
        httpx.Client(base_url=gateway.url, headers=gateway.headers, timeout=30) as http,
        http.stream("GET", path) as response,
    ):
        stream = iter_sse(response)
        first = next(stream)
        assert first["event"] == "snapshot"
        assert [t["name"] for t in first["data"]["items"]] == ["one"]
        patch_status(k8s, namespace, "one", phase="Running", progress=42)
        update = next(stream)
        assert update["event"] == "task" and update["data"]["progress"] == 42


def test_websocket_carries_the_same_events(
    gateway: Gateway, namespace: str, redis_client: redis.Redis
) -> None:
    task = create_task(gateway, namespace, name="sock")
    first = add_event(redis_client, task["uid"], events.progress(1, 1, ""))
    last = add_event(redis_client, task["uid"], events.end(1, resource.Phase.SUCCEEDED))
    with gateway.client() as http:
        token = http.post(f"{tasks_path(namespace)}/sock/stream-token").json()["token"]
    url = gateway.url.replace("http://", "ws://")
    messages = []
    with ws_connect(f"{url}{tasks_path(namespace)}/sock/ws?token={token}") as ws:
        for raw in ws:
            messages.append(json.loads(raw))
    assert [(m["event"], m["id"]) for m in messages] == [
        ("snapshot", None),
        ("progress", first),
        ("end", last),
    ]
    with ws_connect(
        f"{url}{tasks_path(namespace)}/sock/ws?lastEventId={first}&token={token}"
    ) as ws:
        resumed = [json.loads(raw) for raw in ws]
    assert [m["id"] for m in resumed] == [None, last]
