"""The result endpoint never reads what a task's status points to outside the task's own key,
and says when a large result expired."""

from __future__ import annotations

import redis
from kubernetes import client
from longtask.core import keys

from tests.fixtures.gateway import Gateway, create_task, patch_status


def test_a_result_ref_outside_the_task_is_refused(
    gateway: Gateway, namespace: str, k8s: client.ApiClient, redis_client: redis.Redis
) -> None:
    victim = create_task(gateway, namespace, name="victim")
    redis_client.set(keys.result(victim["uid"]), '{"secret": 1}', ex=60)
    create_task(gateway, namespace, name="thief")
    patch_status(k8s, namespace, "thief", phase="Succeeded", resultRef=keys.result(victim["uid"]))
    with gateway.client() as http:
        response = http.get(f"/v1/namespaces/{namespace}/tasks/thief/result")
    assert response.status_code == 409 and response.json()["error"] == "foreign_result_ref"
    assert "secret" not in response.text


def test_an_expired_large_result_is_a_410(
    gateway: Gateway, namespace: str, k8s: client.ApiClient
) -> None:
    task = create_task(gateway, namespace, name="old")
    patch_status(k8s, namespace, "old", phase="Succeeded", resultRef=keys.result(task["uid"]))
    with gateway.client() as http:
        response = http.get(f"/v1/namespaces/{namespace}/tasks/old/result")
    assert response.status_code == 410, response.text
    assert response.json()["error"] == "result_expired"
