"""A task's log lines, read from its Redis log stream (they outlive the pod).

Without `follow` the answer is one JSON page (led by a marker line when lines before it were
trimmed, see `streaming.gaps`); with `follow=true` it is an SSE stream of `log`
events (id = log stream id, so Last-Event-ID resumes) that ends after the task's `end`
(`streaming.logs`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from longtask.api import deps
from longtask.api.streaming import gaps, logs, responses, streamids
from longtask.core import keys, wire
from longtask.core.wire import ApiError
from redis.exceptions import RedisError

router = APIRouter(tags=["logs"])


@router.get(
    "/v1/namespaces/{namespace}/tasks/{name}/logs",
    response_model=wire.TaskLogs,
    responses={**responses.STREAM_RESPONSES, 200: {"model": wire.TaskLogs}},
    summary="A task's log lines (JSON page, or an SSE stream with follow=true)",
)
async def task_logs(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    # A stream token of the task opens its logs too (browsers' EventSource sends no headers).
    _: Annotated[None, Depends(deps.task_stream_access)],
    follow: bool = False,
    after: Annotated[
        str | None, Query(max_length=streamids.MAX_LEN, description="Read after this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=streamids.MAX_LEN)
    ] = None,
) -> Any:
    try:
        start = streamids.resume_point(last_event_id, after)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"after: {exc}") from None
    obj = await runtime.kube.get(namespace, name)
    if follow:
        batches = logs.follow_logs(runtime.followers, obj, start)
        return responses.event_stream(runtime.settings, batches)
    key = keys.logs(str((obj.get("metadata") or {}).get("uid")))
    try:
        found = await gaps.read_page(runtime.redis, key, start, limit)
    except RedisError:
        raise ApiError(503, "redis_unavailable", "logs live in Redis, unreachable now") from None
    lines = [logs.log_line(i, f) for i, f in found.rows]
    page = wire.TaskLogs(
        items=([logs.gap_line(found.gap)] if found.gap else []) + lines,
        next=lines[-1].id if lines else None,
    )
    return JSONResponse(page.model_dump(mode="json", by_alias=True))
