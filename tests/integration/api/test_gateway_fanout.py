"""200 concurrent SSE clients of one task all receive every event but superseded progress, while
the Redis commands the gateway issues for the stream do not depend on the number of clients
(INFO commandstats). Progress a client has not taken yet is conflated (the newest replaces it):
every other event reaches every client, in order, and the ids a client receives only grow."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import redis
from longtask.api.streaming import streamids
from longtask.core import events, keys, metrics
from longtask.core.resource import Phase

from tests.fixtures.gateway import GatewayFactory, add_event, create_task
from tests.fixtures.waiting import wait_for

CLIENTS = 200
EVENTS = 100


async def follow(
    http: httpx.AsyncClient, path: str, snapshot: asyncio.Event, warm: asyncio.Event
) -> list[tuple[str, str]]:
    """(id, event) of the entries one client receives; flags its snapshot and first entry."""
    ids: list[tuple[str, str]] = []
    event_id, kind = None, None
    async with http.stream("GET", path) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "snapshot":
                snapshot.set()
            elif line.startswith("data: ") and event_id and kind:
                ids.append((event_id, kind))
                warm.set()
                if kind == "end":
                    json.loads(line[6:])
                    return ids
            elif line == "":
                event_id, kind = None, None
    return ids


def stream_calls(r: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = r.info("commandstats")
    names = ("xread", "xrange", "xrevrange")
    return {n: int(stats.get(f"cmdstat_{n}", {}).get("calls", 0)) for n in names}


async def test_many_clients_one_reader(
    gateway_factory: GatewayFactory, namespace: str, redis_client: redis.Redis
) -> None:
    # A long block keeps idle reads rare, so the count below is about clients, not time.
    gw = gateway_factory(xread_block_ms="5000")
    task = create_task(gw, namespace, name="popular")
    path = f"/v1/namespaces/{namespace}/tasks/popular/events"
    snapshots = [asyncio.Event() for _ in range(CLIENTS)]
    warms = [asyncio.Event() for _ in range(CLIENTS)]
    limits = httpx.Limits(max_connections=CLIENTS + 10)
    timeout = httpx.Timeout(120)
    async with httpx.AsyncClient(
        base_url=gw.url, headers=gw.headers, limits=limits, timeout=timeout
    ) as http:
        clients = [
            asyncio.create_task(follow(http, path, snapshots[i], warms[i])) for i in range(CLIENTS)
        ]
        async with asyncio.timeout(120):
            await asyncio.gather(*(s.wait() for s in snapshots))
            warm_id = add_event(redis_client, task["uid"], events.heartbeat(1))
            await asyncio.gather(*(w.wait() for w in warms))
        # Every client now follows the live stream: count only what the events cost.
        redis_client.config_resetstat()
        pipe = redis_client.pipeline(transaction=False)
        # Progress with a log line, an output chunk or a phase change among it now and then.
        burst: list[events.Event] = []
        for i in range(EVENTS):
            burst.append(events.progress(1, i, ""))
            if i % 10 == 3:
                burst.append(events.log(1, f"line {i}"))
            elif i % 10 == 7:
                burst.append(events.output(1, i // 10, f"chunk {i}"))
        burst.insert(50, events.status(1, Phase.RUNNING))
        burst.append(events.progress(1, 100, "last"))
        burst.append(events.end(1, Phase.SUCCEEDED))
        for event in burst:
            fields: dict[Any, Any] = events.encode(event)
            pipe.xadd(keys.events(task["uid"]), fields)
        written = [str(i) for i in pipe.execute()]
        async with asyncio.timeout(120):
            received = await asyncio.gather(*clients)
        calls = stream_calls(redis_client)

    kinds = [str(event["type"]) for event in burst]
    kept = [(i, k) for i, k in zip(written, kinds, strict=True) if k != "progress"]
    progress = {i for i, k in zip(written, kinds, strict=True) if k == "progress"}
    # One pipeline of ~100 progress events reaches the reader in a reply or two: conflated.
    assert all(len([k for _, k in got if k == "progress"]) < len(progress) for got in received)
    for got in received:
        assert got[0] == (warm_id, "heartbeat")
        ids = [i for i, _ in got[1:]]
        assert ids == sorted(ids, key=streamids.parse)  # a resume point only moves forward
        assert len(set(ids)) == len(ids)
        assert [(i, k) for i, k in got[1:] if k != "progress"] == kept  # none lost, in order
        assert {i for i, k in got[1:] if k == "progress"} <= progress
        assert got[-2] == (written[-2], "progress")  # the newest progress always arrives
    # One reader for all clients: a few XREADs for the whole burst, no per-client reads.
    print(f"Redis calls for {CLIENTS} clients x {EVENTS + 1} events: {calls}")
    assert calls["xread"] <= 10, calls
    assert calls["xrange"] == 0 and calls["xrevrange"] == 0, calls
    # Every client left after `end`: the reader follows nothing any more.
    wait_for(lambda: gauge(gw.url, metrics.FOLLOWED_STREAMS) == 0, what="streams released")
    assert gauge(gw.url, metrics.SSE_CLIENTS) == 0


def gauge(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not exported")
