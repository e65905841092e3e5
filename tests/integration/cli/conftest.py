"""Fixtures of the client and CLI integration tests: a client of the session's gateway in a
namespace the session's operator serves (so tasks really run), and the environment that points
the `longtask` command at the same gateway and namespace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from longtask.client import Client

from tests.fixtures.gateway import Gateway
from tests.fixtures.operator import OperatorProcess

# A command task that reports progress in `steps` steps of `pause` seconds, then a result.
PROGRESS_SCRIPT = (
    'i=1; while [ "$i" -le {steps} ]; do '
    'echo "::progress $((i * 100 / {steps})) step $i"; echo "line $i"; sleep {pause}; '
    "i=$((i + 1)); done; "
    "echo '::result {{\"steps\": {steps}}}'"
)


def progress_command(steps: int = 10, pause: float = 0.2) -> list[str]:
    return ["sh", "-c", PROGRESS_SCRIPT.format(steps=steps, pause=pause)]


@pytest.fixture
def lt(gateway: Gateway, operator_proc: OperatorProcess, op_namespace: str) -> Iterator[Client]:
    """A client of the session gateway, defaulting to a fresh namespace served by the operator."""
    with Client(gateway.url, gateway.key, namespace=op_namespace, give_up_after=60) as client:
        yield client


@pytest.fixture
def idle(gateway: Gateway, namespace: str) -> Iterator[Client]:
    """A client in a fresh namespace no operator serves: its tasks are stored, never run."""
    with Client(gateway.url, gateway.key, namespace=namespace, give_up_after=60) as client:
        yield client


@pytest.fixture
def cli_env(
    stack: Any, gateway: Gateway, operator_proc: OperatorProcess, op_namespace: str
) -> dict[str, str]:
    """Environment of a `longtask` process: the session gateway, its key, a namespace the
    session's operator serves."""
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
