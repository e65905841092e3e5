"""Fixtures of the output tests: a client of the session's gateway in a namespace the session's
operator serves (tasks really run, in pods of the local node), and the spec of the example
generator task (`longtask_examples.generating`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from longtask.client import Client

from tests.fixtures.gateway import Gateway
from tests.fixtures.operator import OperatorProcess

GENERATE = "longtask_examples.generating:generate"


def generator(tokens: int, rate: float, **params: Any) -> dict[str, Any]:
    """The submit body of the example generator: `tokens` at `rate` per second."""
    return {"task": GENERATE, "params": {"tokens": tokens, "rate": rate, **params}}


@pytest.fixture
def lt(gateway: Gateway, operator_proc: OperatorProcess, op_namespace: str) -> Iterator[Client]:
    with Client(gateway.url, gateway.key, namespace=op_namespace, give_up_after=60) as client:
        yield client


@pytest.fixture
def cli_env(
    stack: Any, gateway: Gateway, operator_proc: OperatorProcess, op_namespace: str
) -> dict[str, str]:
    """Environment of a `longtask` process pointed at the session gateway and namespace."""
    env = dict(stack.env)
    env.update(
        {
            "LONGTASK_GATEWAY_URL": gateway.url,
            "LONGTASK_TOKEN": gateway.key or "",
            "LONGTASK_NAMESPACE": op_namespace,
            "TERM": "xterm-256color",
            "COLUMNS": "120",
        }
    )
    return env
