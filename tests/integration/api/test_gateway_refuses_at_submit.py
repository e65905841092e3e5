"""Regression: whatever the operator would refuse, and can be known at submit, is refused at
submit with a 422 naming the field (it used to be accepted with 201 and fail later)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from longtask.core import runnerenv

from tests.fixtures.gateway import Gateway


def submit(gateway: Gateway, namespace: str, body: dict[str, Any]) -> httpx.Response:
    with gateway.client() as http:
        return http.post(f"/v1/namespaces/{namespace}/tasks", json={"command": ["true"], **body})


def fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid"
    return [detail["field"] for detail in body["details"]]


@pytest.mark.parametrize("name", [runnerenv.PARAMS, runnerenv.GRACE_SECONDS, "LONGTASK_X"])
def test_reserved_env_names_are_refused_at_submit(
    gateway: Gateway, namespace: str, name: str
) -> None:
    env = [{"name": "MINE", "value": "1"}, {"name": name, "value": "x"}]
    response = submit(gateway, namespace, {"env": env})
    assert fields(response) == ["body.env.1.name"]
    assert name in response.json()["message"]


def test_tuning_knobs_are_accepted_at_submit(gateway: Gateway, namespace: str) -> None:
    env = [{"name": runnerenv.LOG_LEVEL, "value": "DEBUG"}]
    assert submit(gateway, namespace, {"env": env}).status_code == 201


def test_resources_the_api_server_would_refuse_are_refused_at_submit(
    gateway: Gateway, namespace: str
) -> None:
    resources = {"requests": {"cpu": "2", "example.com/gpu": "1"}, "limits": {"cpu": "1"}}
    response = submit(gateway, namespace, {"resources": resources})
    assert fields(response) == [
        "body.resources.requests.cpu",
        "body.resources.requests.example.com/gpu",
    ]
    with gateway.client() as http:
        assert http.get(f"/v1/namespaces/{namespace}/tasks").json()["items"] == []
