"""Redis down never blocks a transition; the missed stream events arrive once it is back."""

from __future__ import annotations

import os
from typing import Any

import pytest
import redis
from longtask.core import events, keys

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for


@pytest.mark.skipif(
    os.environ.get("LONGTASK_TEST_STACK") == "reuse",
    reason="stops Redis, which a shared `make up` stack serves to others",
)
def test_transitions_go_on_without_redis_and_the_stream_catches_up(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis, stack: Any
) -> None:
    stack.stop_redis()
    try:
        uid = tasks.create("offline", {"command": ["python3", "-c", "import sys; sys.exit(3)"]})[
            "metadata"
        ]["uid"]
        status = tasks.wait_final("offline", timeout=90)["status"]
        assert status["phase"] == "Failed" and status["reason"] == "PermanentFailure"
        assert operator_proc.metric("longtask_operator_redis_errors_total") > 0
    finally:
        stack.start_redis()

    def end_event() -> bool:
        try:
            entries: Any = redis_client.xrange(keys.events(uid))
        except redis.RedisError:
            return False
        kinds = [events.decode(fields)["type"] for _, fields in entries]
        return "end" in kinds

    wait_for(end_event, 30, "the end event written after Redis came back")
