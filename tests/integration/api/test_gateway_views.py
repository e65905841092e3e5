"""The gateway endpoints the dashboard's views read, against the real stack: filtered pages of
tasks that are exact however the filter cuts the API pages, the namespace stream without a
snapshot and by label, a task's Kubernetes Events, the namespace summary, and a task's log
followed with a stream token (as a browser's EventSource does)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
from kubernetes import client as k8s_client
from longtask.core import events, keys, resource

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
    with gateway.client() as c:
        yield c


def tasks_path(namespace: str) -> str:
    return f"/v1/namespaces/{namespace}/tasks"


def read_pages(http: httpx.Client, namespace: str, **params: str | int) -> list[list[str]]:
    pages: list[list[str]] = []
    query: dict[str, str | int] = dict(params)
    while True:
        response = http.get(tasks_path(namespace), params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([t["name"] for t in body["items"]])
        if not body["continue"]:
            return pages
        query["continue"] = body["continue"]


def test_filtered_pages_are_exact(
    http: httpx.Client, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    for i in range(7):
        create_task(gateway, namespace, name=f"job-{i}", labels={"even": str(i % 2 == 0).lower()})
        if i % 2:
            patch_status(k8s, namespace, f"job-{i}", phase="Running", progress=10 * i)
    create_task(gateway, namespace, name="other")

    assert read_pages(http, namespace, phase="Running", limit=2) == [
        ["job-1", "job-3"],
        ["job-5"],
    ]
    by_name = read_pages(http, namespace, nameContains="job-", limit=3)
    assert by_name == [["job-0", "job-1", "job-2"], ["job-3", "job-4", "job-5"], ["job-6"]]
    labelled = read_pages(http, namespace, labelSelector="even=true", phase="Pending", limit=5)
    assert labelled == [["job-0", "job-2", "job-4", "job-6"]]
    assert read_pages(http, namespace, nameContains="nothing") == [[]]

    bad = http.get(tasks_path(namespace), params={"continue": "not-a-cursor"})
    assert bad.status_code == 422 and "continue" in bad.json()["message"]
    assert http.get(tasks_path(namespace), params={"nameContains": "Upper"}).status_code == 422


def test_namespace_stream_without_snapshot_and_by_label(
    gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    create_task(gateway, namespace, name="mine", labels={"team": "a"})
    create_task(gateway, namespace, name="theirs", labels={"team": "b"})
    path = f"/v1/namespaces/{namespace}/events"
    params = {"snapshot": "false", "labelSelector": "team in (a)"}
    with (
        httpx.Client(base_url=gateway.url, headers=gateway.headers, timeout=30) as http,
        http.stream("GET", path, params=params) as response,
    ):
        assert response.status_code == 200
        stream = iter_sse(response)
        assert next(stream)["event"] == "ready"  # no snapshot: the watch has listed
        patch_status(k8s, namespace, "theirs", phase="Running", progress=1)
        patch_status(k8s, namespace, "mine", phase="Running", progress=2)
        first = next(stream)  # nothing of `theirs`
        assert (first["event"], first["data"]["name"]) == ("task", "mine")
    with httpx.Client(base_url=gateway.url, headers=gateway.headers) as http:
        bad = http.get(path, params={"labelSelector": "team in (a"})
        assert bad.status_code == 400 and "labelSelector" in bad.json()["message"]


def test_a_tasks_kubernetes_events(
    http: httpx.Client, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    task = create_task(gateway, namespace, name="described")
    core = k8s_client.CoreV1Api(k8s)
    now = datetime.now(UTC)
    for reason, message, obj in [
        ("JobCreated", "attempt 1 of 3: created Job described-1", None),
        ("Completed", "attempt 1 succeeded", None),
        ("SuccessfulCreate", "Created pod: described-1-abcde", "described-1"),
    ]:
        involved = (
            {"kind": "LongTask", "name": "described", "namespace": namespace, "uid": task["uid"]}
            if obj is None
            else {"kind": "Job", "name": obj, "namespace": namespace}
        )
        body: Any = {
            "metadata": {"generateName": "described."},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": "Normal",
            "firstTimestamp": now.isoformat(),
            "lastTimestamp": now.isoformat(),
            "count": 1,
            "source": {"component": "test"},
        }
        core.create_namespaced_event(namespace, body)
    patch_status(
        k8s, namespace, "described", phase="Succeeded", attempt=1,
        attempts=[{"number": 1, "jobName": "described-1", "outcome": "Succeeded"}],
    )  # fmt: skip
    found = http.get(f"{tasks_path(namespace)}/described/kube-events").json()["items"]
    assert sorted((e["object"], e["reason"]) for e in found) == [
        ("Job/described-1", "SuccessfulCreate"),
        ("LongTask/described", "Completed"),
        ("LongTask/described", "JobCreated"),
    ]
    assert all(e["source"] == "test" and e["lastTime"] for e in found)
    assert http.get(f"{tasks_path(namespace)}/missing/kube-events").status_code == 404


def test_namespace_summary(
    http: httpx.Client, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for name, phase in [("a", "Running"), ("b", "Succeeded"), ("c", "Failed"), ("d", None)]:
        create_task(gateway, namespace, name=name)
        if phase:
            done = now.isoformat().replace("+00:00", "Z")
            patch_status(k8s, namespace, name, phase=phase, startTime=done, completionTime=done)
    summary = http.get(f"/v1/namespaces/{namespace}/summary", params={"minutes": 5}).json()
    assert summary["total"] == 4
    assert {k: v for k, v in summary["phases"].items() if v} == {
        "Pending": 1,
        "Running": 1,
        "Succeeded": 1,
        "Failed": 1,
    }
    assert len(summary["minutes"]) == 5
    last = summary["minutes"][-1]
    assert (last["succeeded"], last["failed"], last["meanSeconds"]) == (1, 1, 0)
    assert http.get("/v1/namespaces/nope-x1/summary").status_code == 404


def test_logs_follow_with_a_stream_token_and_timestamps(
    http: httpx.Client, gateway: Gateway, namespace: str, redis_client: redis.Redis
) -> None:
    task = create_task(gateway, namespace, name="logged")
    redis_client.xadd(keys.logs(task["uid"]), {"line": "hello", "attempt": "1"})
    add_event(redis_client, task["uid"], events.end(1, resource.Phase.SUCCEEDED))
    token = http.post(f"{tasks_path(namespace)}/logged/stream-token").json()["token"]
    url = f"{tasks_path(namespace)}/logged/logs?follow=true&token={token}"
    anonymous = Gateway(gateway.name, gateway.port, gateway.env, gateway.log_dir)  # no key
    got = read_events(anonymous, url)
    lines = [e["data"] for e in got if e["event"] == "log"]
    assert [line["line"] for line in lines] == ["hello"]
    assert abs(lines[0]["ts"] / 1000 - datetime.now(UTC).timestamp()) < 600
    other = http.post(f"/v1/namespaces/{namespace}/stream-token").json()["token"]
    refused = httpx.get(f"{gateway.url}{tasks_path(namespace)}/logged/logs?token={other}")
    assert refused.status_code == 401
