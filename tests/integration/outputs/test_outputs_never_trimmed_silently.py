"""Outputs on the wire without a runner: the event stream is trimmed, the output stream is not;
the WebSocket carries output and retract events as SSE does.

The event stream is trimmed; the output stream is not. A follower that reads a task whose
event stream lost its first output events is told (`gap`) and still ends with the exact
output: the client reads the missing chunks from the output stream (`GET …/output`).

The runner's writes are played here (the task runs in no pod), so the trim is exact and known.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from longtask.client import Client, OutputChunk
from longtask.core import events, keys, resource
from websockets.sync.client import connect as ws_connect

from tests.fixtures.gateway import Gateway, create_task, iter_sse

CHUNKS = 300
KEPT = 50


def test_a_trimmed_event_stream_is_announced_and_the_output_stays_whole(
    gateway: Gateway, namespace: str, redis_client: Any
) -> None:
    task = create_task(gateway, namespace, name="long")
    uid = task["uid"]
    for seq in range(CHUNKS):
        fields: Any = events.encode(events.output(1, seq, f"<{seq}>"))
        redis_client.xadd(keys.output(uid), fields)
        redis_client.xadd(keys.events(uid), fields, maxlen=KEPT, approximate=False)
    end: Any = events.encode(events.end(1, resource.Phase.SUCCEEDED))
    redis_client.xadd(keys.events(uid), end)
    expected = "".join(f"<{seq}>" for seq in range(CHUNKS))

    path = f"/v1/namespaces/{namespace}/tasks/long/events"
    with (
        httpx.Client(base_url=gateway.url, timeout=30, headers=gateway.headers) as http,
        http.stream("GET", path) as response,
    ):
        names = [event["event"] for event in iter_sse(response)]
    assert names[:2] == ["snapshot", "gap"]
    assert names.count("output") == KEPT  # the end event was added after the last trim

    with Client(gateway.url, gateway.key, namespace=namespace, give_up_after=30) as lt:
        changes = list(lt.outputs("long"))
        assert all(isinstance(c, OutputChunk) for c in changes)
        assert [c.seq for c in changes] == list(range(CHUNKS))
        assert "".join(c.text() for c in changes) == expected
        assert lt.output("long").text() == expected


def test_the_websocket_carries_output_and_retract_events(
    gateway: Gateway, namespace: str, redis_client: Any
) -> None:
    uid = create_task(gateway, namespace, name="sock")["uid"]
    written = [
        events.output(1, 0, "a"),
        events.output(1, 1, {"n": 1}, is_json=True),
        events.retract(2, 1, 1, resumed=True),
        events.output(2, 1, "b"),
        events.end(2, resource.Phase.SUCCEEDED),
    ]
    for event in written:
        fields: Any = events.encode(event)
        redis_client.xadd(keys.events(uid), fields)
    path = f"/v1/namespaces/{namespace}/tasks/sock"
    with gateway.client() as http:
        token = http.post(f"{path}/stream-token").json()["token"]
    url = gateway.url.replace("http://", "ws://")
    with ws_connect(f"{url}{path}/ws?token={token}") as ws:
        messages = [json.loads(raw) for raw in ws]
    assert [m["event"] for m in messages] == [
        "snapshot",
        "output",
        "output",
        "retract",
        "output",
        "end",
    ]
    assert [m["data"] for m in messages[1:-1]] == [dict(e) for e in written[:-1]]
