"""Tasks: submit (with Idempotency-Key), list, get, cancel, retry, delete, stream tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response, status
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.api import bodies, deps, listing, streamtokens, taskobjects, tenancy
from longtask.api.runtime import Runtime
from longtask.core import resource, wire
from longtask.core.wire import ApiError

router = APIRouter(
    prefix="/v1/namespaces/{namespace}", tags=["tasks"], route_class=bodies.JsonValuesRoute
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.Error} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Same key and body: the same task (200). Same key, other body: 409.",
    ),
]


async def _existing_for_key(
    runtime: Runtime, namespace: str, key: str, body_hash: str
) -> dict[str, Any] | None:
    """The task created earlier with this key (409 if with another body), or None."""
    found = await runtime.kube.list(namespace, label_selector=taskobjects.key_selector(key))
    obj: dict[str, Any]
    for obj in found.get("items") or []:
        match = taskobjects.idempotency_match(obj, key, body_hash)
        if match is True:
            return obj
        if match is False:
            raise _key_reused()
    return None


def _key_reused() -> ApiError:
    return ApiError(
        409, "idempotency_key_reused", "this Idempotency-Key was used with a different body"
    )


@router.post(
    "/tasks",
    status_code=status.HTTP_201_CREATED,
    response_model=wire.Task,
    responses={200: {"model": wire.Task, "description": "Replayed"}, **ERRORS},
    summary="Submit a task",
)
async def submit(
    namespace: deps.Namespace,
    body: wire.TaskCreate,
    response: Response,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("create"))],
    idempotency_key: IdempotencyKey = None,
) -> wire.Task:
    spec = taskobjects.spec_of(body)
    if idempotency_key is None:
        looked_up = await tenancy.problems(runtime, namespace, spec)
        manifest = taskobjects.new_task(namespace, body, looked_up=looked_up)
        return taskobjects.task_view(await runtime.kube.create(namespace, manifest))
    body_hash = taskobjects.request_hash(body)
    existing = await _existing_for_key(runtime, namespace, idempotency_key, body_hash)
    if existing is None:
        looked_up = await tenancy.problems(runtime, namespace, spec)
        manifest = taskobjects.new_task(namespace, body, idempotency_key, looked_up)
        try:
            return taskobjects.task_view(await runtime.kube.create(namespace, manifest))
        except ApiException as exc:
            if exc.status != 409:
                raise
            # A concurrent request with the same key won the name (or the name is taken).
            existing = await runtime.kube.get(namespace, manifest["metadata"]["name"])
            match = taskobjects.idempotency_match(existing, idempotency_key, body_hash)
            if match is None:
                raise
            if match is False:
                raise _key_reused() from None
    response.status_code = status.HTTP_200_OK
    return taskobjects.task_view(existing)


@router.get(
    "/tasks",
    response_model=wire.TaskList,
    responses={**ERRORS, 410: {"model": wire.Error, "description": "continue expired"}},
    summary="List tasks",
)
async def list_tasks(
    namespace: deps.Namespace,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("list"))],
    phase: Annotated[resource.Phase | None, Query(description="Only tasks in this phase.")] = None,
    label_selector: Annotated[
        str | None, Query(alias="labelSelector", max_length=1024, description="e.g. team=a")
    ] = None,
    name_contains: Annotated[
        str | None,
        Query(
            alias="nameContains",
            max_length=63,
            pattern=r"^[-a-z0-9]+$",
            description="Only tasks whose name contains this text.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    continue_: Annotated[
        str | None,
        Query(
            alias="continue",
            max_length=8192,
            description="From the last page. Tasks come in name order; with a phase or name "
            "filter a page may hold fewer than `limit` tasks and still have a next one.",
        ),
    ] = None,
) -> wire.TaskList:
    try:
        cursor = listing.Cursor.decode(continue_) if continue_ else None
    except ValueError as exc:
        raise ApiError(422, "invalid", f"continue: {exc}") from None

    async def fetch(token: str | None, size: int) -> dict[str, Any]:
        return await runtime.kube.list(
            namespace, label_selector=label_selector, limit=size, continue_=token
        )

    keep = taskobjects.list_filter(phase, name_contains)
    found = await listing.page(fetch, keep, limit, cursor)
    if not found.items and cursor is None:
        await runtime.namespaces.require(namespace)  # none at all: is it the namespace?
    return wire.TaskList.model_validate(
        {
            "items": [taskobjects.task_view(obj) for obj in found.items],
            "continue": found.next.encode() if found.next else None,
        }
    )


@router.get("/tasks/{name}", response_model=wire.Task, responses=ERRORS, summary="Get a task")
async def get_task(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get"))],
) -> wire.Task:
    return taskobjects.task_view(await runtime.kube.get(namespace, name))


@router.delete(
    "/tasks/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=ERRORS,
    summary="Delete a task (its running attempt is stopped)",
)
async def delete_task(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("delete"))],
) -> Response:
    await runtime.kube.delete(namespace, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/tasks/{name}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=wire.Task,
    responses=ERRORS,
    summary="Request cancellation (sets spec.cancel)",
)
async def cancel_task(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("patch"))],
) -> wire.Task:
    current = await runtime.kube.get(namespace, name)
    phase = taskobjects.phase_of(current)
    if phase.is_final:
        raise ApiError(409, "finished", f"task {name!r} already finished ({phase})")
    # No resourceVersion precondition: status patches bump it constantly, and cancelling a
    # task that finished meanwhile is harmless (the operator ignores it).
    patched = await runtime.kube.patch(namespace, name, {"spec": {"cancel": True}})
    return taskobjects.task_view(patched)


@router.post(
    "/tasks/{name}/retry",
    status_code=status.HTTP_201_CREATED,
    response_model=wire.Task,
    responses=ERRORS,
    summary="Re-run a failed, dead-lettered or cancelled task as a new task",
)
async def retry_task(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("create"))],
) -> wire.Task:
    current = await runtime.kube.get(namespace, name)
    phase = taskobjects.phase_of(current)
    if phase not in taskobjects.RETRYABLE_PHASES:
        raise ApiError(
            409,
            "not_retryable",
            f"only Failed or Cancelled tasks can be retried; {name!r} is {phase}",
        )
    again = taskobjects.retry_task(current)
    looked_up = await tenancy.problems(runtime, namespace, again["spec"])
    if (refused := taskobjects.admission_error(again["spec"], looked_up)) is not None:
        raise refused  # the account or the image was allowed once, and is no more
    created = await runtime.kube.create(namespace, again)
    return taskobjects.task_view(created)


def _token(runtime: Runtime, scope: streamtokens.Scope, path: str) -> wire.StreamToken:
    expires = int(time.time()) + runtime.settings.stream_token_ttl_seconds
    token = runtime.signer.issue(scope, expires)
    return wire.StreamToken(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
        url=f"{path}?token={token}",
    )


@router.post(
    "/tasks/{name}/stream-token",
    response_model=wire.StreamToken,
    responses=ERRORS,
    summary="A short-lived token that opens this task's event stream (for EventSource)",
)
async def task_stream_token(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get"))],
) -> wire.StreamToken:
    await runtime.kube.get(namespace, name)  # 404 for an unknown task
    scope = streamtokens.Scope(namespace, name)
    return _token(runtime, scope, f"/v1/namespaces/{namespace}/tasks/{name}/events")


@router.post(
    "/stream-token",
    response_model=wire.StreamToken,
    responses=ERRORS,
    summary="A short-lived token that opens the namespace-wide event stream",
)
async def namespace_stream_token(
    namespace: deps.Namespace,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("watch"))],
) -> wire.StreamToken:
    await runtime.namespaces.require(namespace)
    scope = streamtokens.Scope(namespace)
    return _token(runtime, scope, f"/v1/namespaces/{namespace}/events")
