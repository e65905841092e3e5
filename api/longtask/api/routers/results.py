"""A task's result, whatever its size: inline from the LongTask status, or streamed from Redis
when it was too large for the status (`status.resultRef`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse
from longtask.api import deps
from longtask.core import keys, wire
from longtask.core.wire import ApiError
from redis.asyncio import Redis
from redis.client import NEVER_DECODE

router = APIRouter(tags=["tasks"])

# Bytes read from Redis per GETRANGE: a 16 MiB result never sits whole in the gateway's memory.
CHUNK_BYTES: Final = 256 * 1024
RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "content": {"application/json": {"schema": {}}},
        "description": "The result: the JSON value the task returned or printed with ::result.",
    },
    **{code: {"model": wire.Error} for code in (401, 403, 404, 409, 410, 422, 503)},
}


async def _chunks(redis: Redis, key: str, size: int) -> AsyncIterator[bytes]:
    for start in range(0, size, CHUNK_BYTES):
        end = min(size, start + CHUNK_BYTES) - 1
        # Raw bytes: a chunk may end inside a UTF-8 character (the client decodes the whole).
        options = {NEVER_DECODE: True}
        chunk = await redis.execute_command("GETRANGE", key, start, end, **options)  # type: ignore[no-untyped-call]
        yield bytes(chunk)


@router.get(
    "/v1/namespaces/{namespace}/tasks/{name}/result",
    response_class=Response,
    responses=RESPONSES,
    summary="A task's result (any size; large results are streamed from Redis)",
)
async def task_result(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get"))],
) -> Response:
    obj = await runtime.kube.get(namespace, name)
    status = obj.get("status") or {}
    if status.get("result") is not None:
        body = json.dumps(status["result"], separators=(",", ":"), ensure_ascii=False)
        return Response(body.encode(), media_type="application/json")
    ref = status.get("resultRef")
    if not ref:
        phase = status.get("phase") or "Pending"
        raise ApiError(404, "no_result", f"task {name!r} has no result ({phase})")
    uid = str((obj.get("metadata") or {}).get("uid"))
    # The runner writes resultRef; it may only ever point to this task's own key.
    if ref != keys.result(uid):
        raise ApiError(409, "foreign_result_ref", "status.resultRef is not this task's result key")
    size = int(await runtime.redis.strlen(ref))
    if size == 0:
        raise ApiError(410, "result_expired", f"the result of task {name!r} expired from Redis")
    return StreamingResponse(
        _chunks(runtime.redis, ref, size),
        media_type="application/json",
        headers={"Content-Length": str(size)},
    )
