"""Event streams: a task's events over SSE and WebSocket, and the namespace-wide SSE stream.

SSE is served by sse-starlette, chosen over FastAPI's own `fastapi.sse` on purpose: it gives a
per-send timeout (a stalled client is cut off instead of holding its coroutine and queue), comment
pings on an independent task, disconnect detection while the generator waits, and cooperative
shutdown; and it sends `bytes` items as they are, which lets `follow` batch several pending
events into one write. Resume ids, the snapshot and the `retry:` hint are ours (`sse`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Query, WebSocket, WebSocketDisconnect
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.api import deps, sse, streamids, streamtokens
from longtask.api import observability as obs
from longtask.api.follow import Batches, Dropped, follow_namespace, follow_task
from longtask.api.runtime import Runtime
from longtask.core import wire
from longtask.core.wire import ApiError
from sse_starlette.sse import EventSourceResponse, SendTimeoutError
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

router = APIRouter(tags=["events"])

STREAM_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "description": "snapshot, then progress/status/heartbeat/result/log events, then end.",
    },
    **{code: {"model": wire.Error} for code in (401, 403, 404, 422, 503)},
}
LastEventIdHeader = Annotated[
    str | None, Header(alias="Last-Event-ID", max_length=streamids.MAX_LEN)
]
LastEventIdQuery = Annotated[
    str | None,
    Query(alias="lastEventId", max_length=streamids.MAX_LEN, description="Resume after this id."),
]


class EventStream(EventSourceResponse):
    """An SSE response that counts clients cut off by the send timeout."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            obs.SSE_CLIENTS_DROPPED.inc()
            log.info("dropped an SSE client: send timed out")


async def encoded(batches: Batches, retry_ms: int) -> AsyncIterator[bytes]:
    """SSE bytes, one chunk per batch; the first carries the retry hint."""
    obs.SSE_CLIENTS.inc()
    first = True
    try:
        # aclosing: a client that leaves closes the follow at once (its finally unsubscribes).
        async with contextlib.aclosing(batches):
            async for batch in batches:
                if first and batch:
                    # The hint rides on the first event (the snapshot), not in an empty block.
                    yield sse.encode(batch[0], retry_ms) + sse.encode_batch(batch[1:])
                    first = False
                else:
                    yield sse.encode_batch(batch)
                obs.SSE_EVENTS_SENT.inc(len(batch))
    except Dropped as exc:
        obs.SSE_CLIENTS_DROPPED.inc()
        log.info("%s", exc)
    finally:
        obs.SSE_CLIENTS.dec()


def _resume(header: str | None, query: str | None) -> str:
    try:
        return streamids.resume_point(header, query)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"Last-Event-ID: {exc}") from None


def _stream(runtime: Runtime, batches: Batches) -> EventStream:
    settings = runtime.settings
    return EventStream(
        encoded(batches, settings.sse_retry_ms),
        ping=settings.sse_ping_seconds,
        send_timeout=settings.sse_send_timeout_seconds,
    )


@router.get(
    "/v1/namespaces/{namespace}/tasks/{name}/events",
    response_class=EventStream,
    responses=STREAM_RESPONSES,
    summary="Follow a task's events (Server-Sent Events)",
)
async def task_events(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[None, Depends(deps.task_stream_access)],
    last_event_id: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
    token: deps.StreamTokenQuery = None,
) -> EventStream:
    after = _resume(last_event_id, last_event_id_query)
    obj = await runtime.kube.get(namespace, name)
    return _stream(runtime, follow_task(runtime.followers, obj, after))


@router.get(
    "/v1/namespaces/{namespace}/events",
    response_class=EventStream,
    responses=STREAM_RESPONSES,
    summary="Follow every task of a namespace (snapshot, then task and deleted events)",
)
async def namespace_events(
    namespace: deps.Namespace,
    runtime: deps.RuntimeDep,
    _: Annotated[None, Depends(deps.namespace_stream_access)],
    token: deps.StreamTokenQuery = None,
) -> EventStream:
    return _stream(runtime, follow_namespace(runtime.followers, namespace))


# WebSocket close codes (4000-4999 are for applications).
WS_POLICY: Final = 1008
WS_NOT_FOUND: Final = 4404
WS_BAD_REQUEST: Final = 4400
WS_DROPPED: Final = 4408


async def _ws_allowed(ws: WebSocket, runtime: Runtime, namespace: str, name: str) -> bool:
    token = ws.query_params.get("token")
    try:
        await deps.check_stream_access(
            ws, runtime, streamtokens.Scope(namespace, name), token, "get"
        )
    except ApiError:
        return False
    return True


@router.websocket("/v1/namespaces/{namespace}/tasks/{name}/ws")
async def task_websocket(ws: WebSocket, namespace: str, name: str) -> None:
    """The same events as the SSE endpoint, as JSON messages {id, event, data}.

    Auth: an Authorization header or `?token=` (a stream token); resume with `?lastEventId=`.
    """
    runtime = deps.get_runtime(ws)
    try:
        if not (re.match(wire.NAME_PATTERN, name) and re.match(wire.NAME_PATTERN, namespace)):
            raise ValueError("bad name")
        after = streamids.resume_point(None, ws.query_params.get("lastEventId"))
    except ValueError:
        await ws.close(WS_BAD_REQUEST, "bad namespace, name or lastEventId")
        return
    if not await _ws_allowed(ws, runtime, namespace, name):
        await ws.close(WS_POLICY, "unauthorized")
        return
    try:
        obj = await runtime.kube.get(namespace, name)
    except ApiException as exc:
        await ws.close(WS_NOT_FOUND if exc.status == 404 else 1011, "task not available")
        return
    await ws.accept()
    obs.SSE_CLIENTS.inc()
    timeout = runtime.settings.sse_send_timeout_seconds
    try:
        async with contextlib.aclosing(follow_task(runtime.followers, obj, after)) as batches:
            async for batch in batches:
                async with asyncio.timeout(timeout):
                    for frame in batch:
                        message = wire.StreamEvent(id=frame.id, event=frame.event, data={})
                        payload = message.model_dump(mode="json")
                        payload["data"] = frame.payload()
                        await ws.send_json(payload)
                obs.SSE_EVENTS_SENT.inc(len(batch))
            await ws.close()
    except (Dropped, TimeoutError):
        obs.SSE_CLIENTS_DROPPED.inc()
        await ws.close(WS_DROPPED, "fell behind; reconnect with lastEventId")
    except WebSocketDisconnect:
        pass
    finally:
        obs.SSE_CLIENTS.dec()
