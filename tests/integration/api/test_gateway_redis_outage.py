"""Redis stopped mid-task: the stream carries on from a watch of the LongTask (events without
ids), goes back to the Redis stream when Redis returns, and ends correctly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from kubernetes import client as k8s_client
from longtask.core import events
from longtask.devstack.stack import Stack

from tests.fixtures.gateway import (
    GatewayFactory,
    add_event,
    create_task,
    iter_sse,
    patch_status,
)
from tests.fixtures.waiting import wait_for


@pytest.fixture
def redis_restorer(stack: Stack) -> Iterator[Stack]:
    """Whatever a test does to Redis, it runs again afterwards."""
    yield stack
    if not stack.procs["redis"].alive():
        stack.start_redis()


def next_matching(stream: Iterator[dict[str, Any]], predicate: Any) -> list[dict[str, Any]]:
    """Events up to and including the first that matches."""
    seen = []
    for event in stream:
        seen.append(event)
        if predicate(event):
            return seen
    raise AssertionError(f"stream ended before a match; got {seen}")


def redis_ready(url: str) -> bool:
    try:
        return bool(httpx.get(f"{url}/readyz", timeout=2).json()["redis"]["ok"])
    except httpx.HTTPError:
        return False


def test_stream_follows_the_watch_while_redis_is_down(
    gateway_factory: GatewayFactory,
    redis_restorer: Stack,
    namespace: str,
    redis_client: redis.Redis,
    k8s: k8s_client.ApiClient,
) -> None:
    stack = redis_restorer
    gw = gateway_factory(auth_mode="none", redis_retry_seconds="0.2", sse_ping_seconds="1")
    task = create_task(gw, namespace, name="resilient")
    uid = task["uid"]
    first = add_event(redis_client, uid, events.progress(1, 10, "a"))
    path = f"/v1/namespaces/{namespace}/tasks/resilient/events"
    with (
        httpx.Client(base_url=gw.url, timeout=httpx.Timeout(60)) as http,
        http.stream("GET", path) as response,
    ):
        stream = iter_sse(response)
        assert next(stream)["event"] == "snapshot"
        assert next(stream)["id"] == first

        # Outage 1: progress now comes from the LongTask status, without ids.
        stack.stop_redis()
        patch_status(k8s, namespace, "resilient", phase="Running", progress=50, message="w")
        seen = next_matching(stream, lambda e: e["data"].get("progress") == 50)
        assert all(e["id"] is None and e["data"]["source"] == "watch" for e in seen)
        assert any(e["event"] == "status" and e["data"]["phase"] == "Running" for e in seen)
        # Still ready: Redis is reported down, but the gateway serves from the watch.
        readiness = httpx.get(f"{gw.url}/readyz", timeout=5)
        assert readiness.status_code == 200
        assert readiness.json()["ready"] and not readiness.json()["redis"]["ok"]

        # Redis is back: the stream resumes from the last id it delivered.
        stack.start_redis()
        wait_for(lambda: redis_ready(gw.url), what="gateway sees Redis again")
        back = add_event(redis_client, uid, events.progress(1, 70, "r"))
        seen = next_matching(stream, lambda e: e["id"] == back)
        assert seen[-1]["data"]["progress"] == 70

        # Outage 2: the task ends while Redis is down; the stream ends with it.
        stack.stop_redis()
        patch_status(k8s, namespace, "resilient", phase="Succeeded", progress=100, message="ok")
        rest = list(stream)
    assert [e["event"] for e in rest][-1] == "end"
    assert rest[-1]["data"]["phase"] == "Succeeded"
    assert any(e["data"].get("progress") == 100 for e in rest)
    assert all(e["id"] is None for e in rest)
