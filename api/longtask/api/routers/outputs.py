"""A task's output so far, read whole from its output stream (`keys.output`, never trimmed).

Live chunks travel as `output` events of the task's event stream (`events`, SSE and WebSocket);
this route answers the complete output at any time, with the retractions of failed attempts
applied (`core.outputs`): what `longtask output` prints, and where a follower that met a `gap`
reads the chunks it missed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query
from longtask.api import deps
from longtask.api.streaming import gaps, streamids
from longtask.core import events, keys, outputs, wire
from longtask.core.wire import ApiError
from redis.asyncio import Redis
from redis.exceptions import RedisError

router = APIRouter(tags=["tasks"])

PAGE: Final = 2000
# Whole-output reads at once per gateway process; more wait their turn. Many followers read the
# output together when a trimmed stream left them all the same hole, and each read holds a Redis
# connection of the shared pool (which refuses, not waits, past its size) for many pages.
CONCURRENT_READS: Final = 8
_reads = asyncio.Semaphore(CONCURRENT_READS)
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    code: {"model": wire.Error} for code in (401, 403, 404, 422, 503)
}


async def read_output(redis: Redis, uid: str) -> outputs.Assembly:
    """The output that the task's output stream holds, folded (bounded by the runner's limits)."""
    assembly = outputs.Assembly()
    cursor = streamids.START
    while True:
        page = await gaps.read_page(redis, keys.output(uid), cursor, PAGE)
        for _, fields in page.rows:
            try:
                assembly.apply(events.decode(fields))
            except ValueError:
                continue  # not an event: teaches nothing (`core.outputs`, choice 4)
        if len(page.rows) < PAGE:
            return assembly
        cursor = page.rows[-1][0]


@router.get(
    "/v1/namespaces/{namespace}/tasks/{name}/output",
    response_model=wire.TaskOutput,
    responses=ERRORS,
    summary="A task's output so far (its chunks, failed attempts' retractions applied)",
)
async def task_output(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[None, Depends(deps.task_stream_access)],
    start: Annotated[int, Query(ge=0, description="Leave out the chunks before this seq.")] = 0,
) -> wire.TaskOutput:
    obj = await runtime.kube.get(namespace, name)
    uid = str((obj.get("metadata") or {}).get("uid"))
    try:
        async with _reads:
            assembly = await read_output(runtime.redis, uid)
    except RedisError:
        raise ApiError(503, "redis_unavailable", "outputs live in Redis, unreachable now") from None
    return wire.TaskOutput(
        chunks=[
            wire.OutputChunk(seq=c.seq, attempt=c.attempt, chunk=c.chunk, json=c.is_json)
            for c in assembly.chunks[start:]
        ],
        next=assembly.next_seq,
        retracted=assembly.retracted,
    )
