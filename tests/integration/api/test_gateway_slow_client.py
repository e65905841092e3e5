"""A client that stops reading is dropped (send timeout or queue overflow) and counted, while
the other clients of the same task keep receiving every event (like a browser's EventSource, a
healthy client that a loaded machine slowed down too reconnects with Last-Event-ID)."""

from __future__ import annotations

import socket
import threading

import httpx
import redis
from longtask.core import events, keys, metrics
from longtask.core.resource import Phase

from tests.fixtures.gateway import GatewayFactory, create_task, read_events
from tests.fixtures.waiting import wait_for

EVENTS = 3000
PADDING = "x" * 4000  # ~12 MB in all: more than the socket buffers of a reader that stalls


def dropped(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(metrics.SSE_CLIENTS_DROPPED):
            return float(line.split()[-1])
    return 0.0


def test_stalled_client_is_dropped_others_get_everything(
    gateway_factory: GatewayFactory, namespace: str, redis_client: redis.Redis
) -> None:
    gw = gateway_factory(auth_mode="none", client_queue_size="50", sse_send_timeout_seconds="3")
    task = create_task(gw, namespace, name="busy")
    path = f"/v1/namespaces/{namespace}/tasks/busy/events"
    before = dropped(gw.url)

    # The stalled client: asks for the stream, then never reads a byte.
    stalled = socket.create_connection(("127.0.0.1", gw.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())

    received: list[dict[str, object]] = []

    def follow() -> None:
        last: dict[str, str] = {}
        for _ in range(20):  # reconnects at most
            if received and received[-1]["event"] == "end":
                return
            got = read_events(gw, path, headers=last, timeout=120)
            received.extend(e for e in got if e["id"] is not None)
            if received:
                last = {"Last-Event-ID": str(received[-1]["id"])}

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: httpx.get(f"{gw.url}/metrics").text.count(f"{metrics.SSE_CLIENTS} 2.0"),
            what="both clients connected",
        )
        pipe = redis_client.pipeline(transaction=False)
        for _ in range(EVENTS):
            event = events.log(1, PADDING)  # never conflated, unlike progress
            pipe.xadd(keys.events(task["uid"]), events.encode(event))  # type: ignore[arg-type]
        end = events.end(1, Phase.SUCCEEDED)
        pipe.xadd(keys.events(task["uid"]), events.encode(end))  # type: ignore[arg-type]
        pipe.execute()
        wait_for(lambda: dropped(gw.url) > before, timeout=60, what="the stalled client dropped")
        reader.join(120)
    finally:
        stalled.close()
    ids = [e["id"] for e in received]
    assert len(ids) == EVENTS + 1 and len(set(ids)) == EVENTS + 1
    assert received[-1]["event"] == "end"
