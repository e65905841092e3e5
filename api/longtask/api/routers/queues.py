"""Queues: list and get LongTaskQueues with their counts, suspend and resume them.

Authorised with SubjectAccessReviews on `longtaskqueues`: list and get need those verbs on it,
suspend and resume `patch` (they set spec.suspend, as `kubectl patch ltq` would; `suspending`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from longtask.api import deps, queueobjects, suspending
from longtask.api.runtime import Runtime
from longtask.core import taskqueue, wire

router = APIRouter(prefix="/v1/namespaces/{namespace}", tags=["queues"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.Error} for code in (400, 401, 403, 404, 422, 503)
}
NAME = Path(pattern=wire.NAME_PATTERN, max_length=253, description="The queue's name.")
QueueName = Annotated[str, NAME]
PLURAL = taskqueue.PLURAL


@router.get(
    "/queues",
    response_model=wire.QueueList,
    responses={**ERRORS, 410: {"model": wire.Error, "description": "continue expired"}},
    summary="List queues with their limits and counts (running, queued, oldest wait)",
)
async def list_queues(
    namespace: deps.Namespace,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("list", PLURAL))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    continue_: Annotated[
        str | None, Query(alias="continue", max_length=4096, description="From the last page.")
    ] = None,
) -> wire.QueueList:
    listing = await runtime.kube.list(namespace, limit=limit, continue_=continue_, plural=PLURAL)
    items = listing.get("items") or []
    if not items:
        await runtime.namespaces.require(namespace)
    next_page = (listing.get("metadata") or {}).get("continue") or None
    views = [queueobjects.queue_view(o) for o in items]
    return wire.QueueList.model_validate({"items": views, "continue": next_page})


@router.get("/queues/{name}", response_model=wire.Queue, responses=ERRORS, summary="Get a queue")
async def get_queue(
    namespace: deps.Namespace,
    name: QueueName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get", PLURAL))],
) -> wire.Queue:
    return queueobjects.queue_view(await runtime.kube.get(namespace, name, plural=PLURAL))


async def _view(runtime: Runtime, obj: dict[str, Any]) -> wire.Queue:
    return queueobjects.queue_view(obj)


suspending.add_routes(
    router,
    "queues",
    plural=PLURAL,
    name=NAME,
    view=_view,
    response_model=wire.Queue,
    responses=ERRORS,
    summaries=(
        "Suspend the queue (no task of it starts; running ones finish)",
        "Resume the queue (its tasks are admitted again, in order)",
    ),
)
