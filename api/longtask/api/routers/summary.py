"""A namespace at a glance, for the dashboard's overview: tasks per phase, tasks finished per
minute and how long they ran (`summaries`). Read from the namespace's shared watch when one
runs (a dashboard following the namespace keeps one open), else listed from the API server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from longtask.api import deps, summaries
from longtask.core import wire

router = APIRouter(prefix="/v1/namespaces/{namespace}", tags=["tasks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.Error} for code in (401, 403, 404, 422, 503)
}


@router.get(
    "/summary",
    response_model=wire.Summary,
    responses=ERRORS,
    summary="Tasks per phase, and tasks finished per minute with their run times",
)
async def namespace_summary(
    namespace: deps.Namespace,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("list"))],
    minutes: Annotated[
        int, Query(ge=1, le=summaries.MAX_MINUTES, description="How many minutes back.")
    ] = summaries.DEFAULT_MINUTES,
) -> wire.Summary:
    objects = runtime.followers.watches.cached(namespace)
    if objects is None:
        objects = await runtime.kube.list_all(namespace)
    if not objects:
        await runtime.namespaces.require(namespace)
    return summaries.summarize(namespace, objects, datetime.now(UTC), minutes)
