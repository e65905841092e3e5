"""The baseline of the progress benchmarks: the seed design's SSE endpoint, which polls a
task's Redis state hash once a second per client and sends what changed.

Run as `uvicorn tests.bench.seedsse:app`; `GET /tasks/{uid}/events` streams `progress` events
(the hash as JSON) until the hash's phase is final. No auth: it only listens on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from longtask.core import keys, resource
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

POLL_SECONDS = 1.0
FINAL = {p.value for p in resource.FINAL_PHASES}
pool = aioredis.BlockingConnectionPool.from_url(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    decode_responses=True,
    max_connections=50,
    timeout=30,
)


async def poll(uid: str) -> AsyncIterator[bytes]:
    connection = aioredis.Redis(connection_pool=pool)
    last: dict[str, str] = {}
    while True:
        state: dict[str, str] = await connection.hgetall(keys.state(uid))  # type: ignore[assignment]
        if state and state != last:
            last = state
            yield f"event: progress\ndata: {json.dumps(state)}\n\n".encode()
        if state.get(keys.STATE_PHASE) in FINAL:
            return
        await asyncio.sleep(POLL_SECONDS)


async def events(request: Request) -> StreamingResponse:
    return StreamingResponse(poll(request.path_params["uid"]), media_type="text/event-stream")


app = Starlette(routes=[Route("/tasks/{uid}/events", events)])
