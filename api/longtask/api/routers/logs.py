"""A task's log lines, read from its Redis log stream (they outlive the pod).

Without `follow` the answer is one JSON page; with `follow=true` it is an SSE stream of `log`
events (id = log stream id, so Last-Event-ID resumes) that ends after the task's `end`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from longtask.api import deps, sse, streamids, taskobjects
from longtask.api.follow import Batches, Followers, read_after
from longtask.api.hub import Entry, rows
from longtask.api.routers.events import STREAM_RESPONSES, EventStream, encoded
from longtask.core import events, keys, wire
from longtask.core.wire import ApiError
from redis.exceptions import RedisError

router = APIRouter(tags=["logs"])


def log_line(entry_id: str, fields: dict[str, Any]) -> wire.LogLine:
    attempt = fields.get("attempt")
    return wire.LogLine(
        id=entry_id,
        attempt=int(attempt) if isinstance(attempt, str) and attempt.isdigit() else None,
        line=str(fields.get("line", "")),
    )


def log_frame(entry: Entry) -> sse.Frame:
    line = log_line(entry.id, entry.fields)
    return sse.frame("log", line.model_dump(mode="json", by_alias=True), entry.id)


async def follow_logs(deps_: Followers, obj: dict[str, Any], after: str) -> Batches:
    """Every log line after `after`, live, until the task's end event (then the rest)."""
    uid = str((obj.get("metadata") or {}).get("uid"))
    log_key, event_key = keys.logs(uid), keys.events(uid)
    hub = deps_.hub
    sub, cached = await hub.subscribe(log_key, after)
    last = after
    try:
        await hub.subscribe(event_key, streamids.START, sub)
        tail = rows(await deps_.redis.xrevrange(event_key, count=1))
        ended = taskobjects.phase_of(obj).is_final or any(
            sse.entry_frame(i, f).is_end for i, f in tail
        )
        pages: AsyncIterator[list[Entry]] | None = None
        if cached is None:
            pages = read_after(deps_.redis, log_key, after)
        elif cached:
            frames = [log_frame(e) for e in cached]
            last = frames[-1].id or last
            yield frames
        if pages is not None:
            async for page in pages:
                yield [log_frame(e) for e in page]
                last = page[-1].id
        while not ended:
            frames = []
            for item in await sub.next_batch():
                if not isinstance(item, Entry):
                    continue
                if item.key == event_key:
                    ended = ended or sse.entry_frame(item.id, item.fields).is_end
                elif streamids.is_after(item.id, last):
                    frames.append(log_frame(item))
                    last = item.id
            if frames:
                yield frames
        # Lines written just before the end may still be on their way through the hub.
        async for page in read_after(deps_.redis, log_key, last):
            yield [log_frame(e) for e in page]
        yield [sse.frame(events.EventType.END, {"type": events.EventType.END})]
    finally:
        hub.unsubscribe(sub)


@router.get(
    "/v1/namespaces/{namespace}/tasks/{name}/logs",
    response_model=wire.TaskLogs,
    responses={**STREAM_RESPONSES, 200: {"model": wire.TaskLogs}},
    summary="A task's log lines (JSON page, or an SSE stream with follow=true)",
)
async def task_logs(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[None, Depends(deps.allow("get"))],
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
        settings = runtime.settings
        return EventStream(
            encoded(follow_logs(runtime.followers, obj, start), settings.sse_retry_ms),
            ping=settings.sse_ping_seconds,
            send_timeout=settings.sse_send_timeout_seconds,
        )
    key = keys.logs(str((obj.get("metadata") or {}).get("uid")))
    try:
        found = rows(await runtime.redis.xrange(key, min=f"({start}", max="+", count=limit))
    except RedisError:
        raise ApiError(503, "redis_unavailable", "logs live in Redis, unreachable now") from None
    lines = [log_line(i, f) for i, f in found]
    page = wire.TaskLogs(items=lines, next=lines[-1].id if lines else None)
    return JSONResponse(page.model_dump(mode="json", by_alias=True))
