"""The client's errors when a backend is away: the gateway itself (GatewayUnreachable) and
Redis behind it (ServerError, a 503 the caller may retry)."""

from __future__ import annotations

from typing import Any

import pytest
from longtask.client import Client, GatewayUnreachable, ServerError
from longtask.devstack import procs

from tests.fixtures.waiting import wait_for


def test_a_gateway_that_is_not_there_is_unreachable(idle: Client) -> None:
    with (
        Client(f"http://127.0.0.1:{procs.free_port()}", "k") as lost,
        pytest.raises(GatewayUnreachable),
    ):
        lost.get("anything")


def test_redis_down_is_a_server_error_and_passes(idle: Client, stack: Any) -> None:
    stack.stop_redis()
    try:
        with pytest.raises(ServerError) as info:
            list(idle.deadletters())
        assert info.value.status == 503
    finally:
        stack.start_redis()

    def answers() -> bool:
        try:
            list(idle.deadletters())
        except ServerError:
            return False
        return True

    wait_for(answers, timeout=30, what="dead letters readable again")
