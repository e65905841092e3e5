"""Idempotency-Key: the same key and body give the same task (also from concurrent requests
and after a gateway restart); the same key with another body is a 409."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.fixtures.gateway import Gateway, GatewayFactory


def submit(
    url: str, key: str, namespace: str, body: Mapping[str, object], auth: str
) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/namespaces/{namespace}/tasks",
        json=body,
        headers={"Idempotency-Key": key, "Authorization": f"Bearer {auth}"},
        timeout=30,
    )


def test_same_key_same_task_other_body_conflict(
    gateway_factory: GatewayFactory, namespace: str
) -> None:
    gw = gateway_factory()
    assert gw.key
    body = {"generateName": "job-", "task": "m:f", "params": {"n": 1}}
    first = submit(gw.url, "order-42", namespace, body, gw.key)
    assert first.status_code == 201
    again = submit(gw.url, "order-42", namespace, body, gw.key)
    assert again.status_code == 200
    assert again.json()["uid"] == first.json()["uid"]

    other = submit(gw.url, "order-42", namespace, {**body, "params": {"n": 2}}, gw.key)
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_key_reused"

    # The mapping lives on the LongTask (label + annotations), not in the gateway's memory.
    gw.restart()
    after_restart = submit(gw.url, "order-42", namespace, body, gw.key)
    assert after_restart.status_code == 200
    assert after_restart.json()["uid"] == first.json()["uid"]

    # A different key is a different task.
    fresh = submit(gw.url, "order-43", namespace, body, gw.key)
    assert fresh.status_code == 201 and fresh.json()["uid"] != first.json()["uid"]


def test_concurrent_requests_with_one_key_create_one_task(gateway: Gateway, namespace: str) -> None:
    gw = gateway
    assert gw.key
    body = {"command": ["true"]}
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: submit(gw.url, "race", namespace, body, gw.key or ""), range(8))
        )
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["uid"] for a in answers}) == 1
    with gw.client() as http:
        assert len(http.get(f"/v1/namespaces/{namespace}/tasks").json()["items"]) == 1


def test_key_with_explicit_name(gateway: Gateway, namespace: str) -> None:
    gw = gateway
    assert gw.key
    body = {"name": "fixed", "command": ["true"]}
    assert submit(gw.url, "k1", namespace, body, gw.key).status_code == 201
    assert submit(gw.url, "k1", namespace, body, gw.key).status_code == 200
    # Same name under another key (or none) is a plain name conflict.
    clash = submit(gw.url, "k2", namespace, body, gw.key)
    assert clash.status_code == 409 and clash.json()["error"] == "conflict"
