"""Regression: on a local stack where no operator has run yet, the gateway found a history
database without tables and answered 503. The stack migrates the database it creates."""

from __future__ import annotations

from longtask.devstack.stack import Stack
from longtask.history import migrating

from tests.fixtures.gateway import Gateway


def test_a_gateway_reads_the_history_before_any_operator_ran(
    stack: Stack, gateway: Gateway, namespace: str
) -> None:
    assert migrating.current(stack.history_dsn) == migrating.head()
    with gateway.client() as http:
        answer = http.get(f"/v1/namespaces/{namespace}/history")
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == []
