"""Regression: a list view lost the changes made between its page and its namespace stream.

The dashboard's task list read its page, then opened the namespace stream without a snapshot;
the stream opened before the gateway's watch of the namespace had listed, and dropped that LIST,
so a change made in between showed in neither. Here the change falls in that window for sure:
after a page was read and before any watch of the fresh namespace exists. The client then does
what the stream says: it reads its page once `ready` came, and hears of every later change.
"""

from __future__ import annotations

import httpx
import pytest
from kubernetes import client as k8s_client

from tests.fixtures.gateway import Gateway, create_task, iter_sse, patch_status


def progress_by_name(http: httpx.Client, namespace: str) -> dict[str, float | None]:
    response = http.get(f"/v1/namespaces/{namespace}/tasks")
    assert response.status_code == 200, response.text
    return {t["name"]: t["progress"] for t in response.json()["items"]}


@pytest.mark.timeout(120)  # without `ready` the stream would only ping: fail, do not hang
def test_a_page_read_after_ready_and_the_events_after_it_miss_no_change(
    gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    for name in ("a", "b", "c"):
        create_task(gateway, namespace, name=name)
    with gateway.client() as http:
        stale = progress_by_name(http, namespace)
        # Before the stream opens: no watch of this fresh namespace has listed yet.
        patch_status(k8s, namespace, "a", phase="Running", progress=30)
        path = f"/v1/namespaces/{namespace}/events"
        with http.stream("GET", path, params={"snapshot": "false"}) as response:
            assert response.status_code == 200
            stream = iter_sse(response)
            assert next(stream)["event"] == "ready"
            patch_status(k8s, namespace, "b", phase="Running", progress=50)  # before the page
            page = progress_by_name(http, namespace)
            patch_status(k8s, namespace, "c", phase="Running", progress=70)  # after the page
            changes = []
            for event in stream:
                changes.append((event["event"], event["data"]["name"], event["data"]["progress"]))
                if event["data"]["name"] == "c":
                    break
    assert stale == {"a": None, "b": None, "c": None}
    assert page == {"a": 30, "b": 50, "c": None}
    # a's change is in the page only; b's in both (the client applies it after the page).
    assert changes == [("task", "b", 50), ("task", "c", 70)]
    shown = page | {name: progress for _, name, progress in changes}
    assert shown == {"a": 30, "b": 50, "c": 70}
