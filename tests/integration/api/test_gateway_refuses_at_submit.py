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


def submit_raw(gateway: Gateway, namespace: str, text: str) -> httpx.Response:
    """POST a body as text: Python's json would not write some of these numbers."""
    with gateway.client() as http:
        return http.post(
            f"/v1/namespaces/{namespace}/tasks",
            content=text,
            headers={"Content-Type": "application/json"},
        )


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("NaN", "NaN"),
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        ("1e400", "finite"),
        ("99999999999999999999999", "64 bits"),
        ("-9223372036854775809", "64 bits"),
        ("9" * 5000, "5000 digits"),
    ],
)
def test_non_finite_and_out_of_range_params_are_refused_naming_the_field(
    gateway: Gateway, namespace: str, number: str, shown: str
) -> None:
    text = '{"command": ["true"], "params": {"ok": 1, "items": [0, {"x": NUMBER}]}}'
    text = text.replace("NUMBER", number)
    response = submit_raw(gateway, namespace, text)
    assert fields(response) == ["body.params.items.1.x"]
    assert shown in response.json()["details"][0]["message"]
    assert response.json()["message"].startswith("body.params.items.1.x: ")


def test_non_finite_numbers_are_refused_in_every_numeric_field(
    gateway: Gateway, namespace: str
) -> None:
    text = '{"command": ["true"], "retry": {"backoff": {"factor": NaN, "maxSeconds": 1e999}}}'
    response = submit_raw(gateway, namespace, text)
    assert sorted(fields(response)) == [
        "body.retry.backoff.factor",
        "body.retry.backoff.maxSeconds",
    ]
    text = '{"command": ["true"], "priority": 99999999999999999999999}'
    assert fields(submit_raw(gateway, namespace, text)) == ["body.priority"]


def test_numbers_at_the_edge_of_the_range_are_stored_exactly(
    gateway: Gateway, namespace: str
) -> None:
    text = (
        '{"command": ["true"], "params": '
        '{"max": 9223372036854775807, "min": -9223372036854775808, "big": 1.7976931348623157e308}}'
    )
    response = submit_raw(gateway, namespace, text)
    assert response.status_code == 201, response.text
    with gateway.client() as http:
        stored = http.get(f"/v1/namespaces/{namespace}/tasks/{response.json()['name']}").json()
    assert stored["spec"]["params"] == {
        "max": 9223372036854775807,
        "min": -9223372036854775808,
        "big": 1.7976931348623157e308,
    }
