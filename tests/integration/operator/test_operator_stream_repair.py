"""Regression: an operator killed between patching a task's status and writing the phase change
to Redis left the task's stream without its `end` event, so SSE followers never finished. A
restarted operator writes the missed phase change once (found by the operator-kill drill)."""

from __future__ import annotations

from collections import Counter

import redis
from kubernetes import client
from longtask.core import events, keys

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for


def event_types(redis_client: redis.Redis, uid: str) -> Counter[str]:
    entries = redis_client.xrange(keys.events(uid), "-", "+")
    return Counter(events.decode(fields or {})["type"] for _, fields in entries)


def test_restarted_operator_writes_the_end_event_redis_missed(
    own_operator: tuple[OperatorProcess, str], k8s: client.ApiClient, redis_client: redis.Redis
) -> None:
    operator, namespace = own_operator
    tasks = Tasks(k8s, namespace)
    done = tasks.create("done", {"command": ["true"]})["metadata"]["uid"]
    untouched = tasks.create("untouched", {"command": ["true"]})["metadata"]["uid"]
    tasks.wait_final("done")
    tasks.wait_final("untouched")
    wait_for(lambda: event_types(redis_client, done)["end"] == 1, 20, "the first end event")
    wait_for(lambda: event_types(redis_client, untouched)["end"] == 1, 20, "its end event")
    operator.kill()
    # What a kill between the status patch and the Redis write leaves behind: no phase, no end.
    redis_client.delete(keys.events(done), keys.state(done))

    operator.start()

    wait_for(lambda: event_types(redis_client, done)["end"] == 1, 30, "the repaired end event")
    assert redis_client.hget(keys.state(done), keys.STATE_PHASE) == "Succeeded"
    kinds = event_types(redis_client, done)
    assert kinds == Counter({"status": 1, "end": 1}), kinds
    # A task whose stream was complete gets nothing twice.
    assert event_types(redis_client, untouched)["end"] == 1
