"""The event stream is trimmed; the output stream is not. A follower that reads a task whose
event stream lost its first output events is told (`gap`) and still ends with the exact
output: the client reads the missing chunks from the output stream (`GET …/output`).

The runner's writes are played here (the task runs in no pod), so the trim is exact and known.
"""

from __future__ import annotations

from typing import Any

import httpx
from longtask.client import Client, OutputChunk
from longtask.core import events, keys, resource

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
