"""Event streams: a task's events over SSE and WebSocket, and the namespace-wide SSE stream.

Only the wiring: what a client receives is `streaming.follow`'s, the SSE response
`streaming.responses`'s (why sse-starlette is documented there).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, WebSocket
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.api import deps, selectors, streamtokens
from longtask.api.runtime import Runtime
from longtask.api.streaming import responses, sockets, streamids
from longtask.api.streaming.follow import NamespaceView, follow_namespace, follow_task
from longtask.core import wire
from longtask.core.wire import ApiError

router = APIRouter(tags=["events"])

LastEventIdHeader = Annotated[
    str | None, Header(alias="Last-Event-ID", max_length=streamids.MAX_LEN)
]
TailQuery = Annotated[
    bool,
    Query(
        description="Start from the task's current state: a snapshot as of the stream's last "
        "entry (with that entry's id), then only later entries (no replay from the start)."
    ),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(alias="lastEventId", max_length=streamids.MAX_LEN, description="Resume after this id."),
]


def _resume(header: str | None, query: str | None) -> str:
    try:
        return streamids.resume_point(header, query)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"Last-Event-ID: {exc}") from None


@router.get(
    "/v1/namespaces/{namespace}/tasks/{name}/events",
    response_class=responses.EventStream,
    responses=responses.STREAM_RESPONSES,
    summary="Follow a task's events (Server-Sent Events)",
)
async def task_events(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[None, Depends(deps.task_stream_access)],
    last_event_id: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
    tail: TailQuery = False,
    token: deps.StreamTokenQuery = None,
) -> responses.EventStream:
    after = _resume(last_event_id, last_event_id_query)
    obj = await runtime.kube.get(namespace, name)
    sink = responses.DirectSink()
    batches = follow_task(runtime.followers, obj, after, tail, sink)
    return responses.event_stream(runtime.settings, batches, sink)


@router.get(
    "/v1/namespaces/{namespace}/events",
    response_class=responses.EventStream,
    responses=responses.STREAM_RESPONSES,
    summary="Follow every task of a namespace (snapshot, then task and deleted events)",
)
async def namespace_events(
    namespace: deps.Namespace,
    runtime: deps.RuntimeDep,
    _: Annotated[None, Depends(deps.namespace_stream_access)],
    token: deps.StreamTokenQuery = None,
    snapshot: Annotated[
        bool, Query(description="Start with a snapshot of every task (false: changes only).")
    ] = True,
    label_selector: Annotated[
        str | None,
        Query(alias="labelSelector", max_length=selectors.MAX_CHARS, description="e.g. team=a"),
    ] = None,
) -> responses.EventStream:
    try:
        selector = selectors.parse(label_selector or "")
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"labelSelector: {exc}") from None
    await runtime.namespaces.require(namespace)
    view = NamespaceView(snapshot=snapshot, selector=selector)
    batches = follow_namespace(runtime.followers, namespace, view)
    return responses.event_stream(runtime.settings, batches)


async def _ws_refusal(
    ws: WebSocket, runtime: Runtime, namespace: str, name: str
) -> tuple[int, str] | None:
    """Why the socket is refused (close code and reason), or None; see `sockets` for the codes."""
    if not (re.match(wire.NAME_PATTERN, name) and re.match(wire.NAME_PATTERN, namespace)):
        return sockets.WS_BAD_REQUEST, "namespace and name must be DNS labels"
    try:
        streamids.resume_point(None, ws.query_params.get("lastEventId"))
    except ValueError:
        return sockets.WS_BAD_REQUEST, "lastEventId is not a stream id (<ms>-<seq>)"
    token = ws.query_params.get("token")
    try:
        scope = streamtokens.Scope(namespace, name)
        await deps.check_stream_access(ws, runtime, scope, token, "get")
    except ApiError as exc:
        if token:
            return (
                sockets.WS_TOKEN_REFUSED,
                "the stream token is invalid, expired or for another stream",
            )
        if exc.status == 403:
            return sockets.WS_FORBIDDEN, f"not allowed to get longtasks in namespace {namespace}"
        return sockets.WS_UNAUTHORIZED, "a bearer token or ?token= (a stream token) is required"
    except (ApiException, OSError, TimeoutError):
        return sockets.WS_UNAVAILABLE, "Kubernetes did not answer; retry later"
    return None


@router.websocket("/v1/namespaces/{namespace}/tasks/{name}/ws")
async def task_websocket(ws: WebSocket, namespace: str, name: str) -> None:
    """The same events as the SSE endpoint, as JSON messages {id, event, data}.

    Auth: an Authorization header or `?token=` (a stream token); resume with `?lastEventId=`;
    `?tail=true` as for the SSE endpoint.
    A refused socket is accepted, then closed with a code that says why (`sockets`).
    """
    runtime = deps.get_runtime(ws)
    await ws.accept()
    refusal = await _ws_refusal(ws, runtime, namespace, name)
    if refusal is None:
        try:
            obj = await runtime.kube.get(namespace, name)
        except ApiException as exc:
            if exc.status == 404:
                refusal = sockets.WS_NOT_FOUND, f"no task {name} in namespace {namespace}"
            else:
                refusal = sockets.WS_UNAVAILABLE, "Kubernetes did not answer; retry later"
        except (OSError, TimeoutError):
            refusal = sockets.WS_UNAVAILABLE, "Kubernetes did not answer; retry later"
    if refusal is not None:
        await ws.close(*refusal)
        return
    after = streamids.resume_point(None, ws.query_params.get("lastEventId"))
    tail = ws.query_params.get("tail", "").lower() in ("1", "true")
    batches = follow_task(runtime.followers, obj, after, tail)
    await sockets.send(ws, batches, runtime.settings.sse_send_timeout_seconds)
