"""The task history: finished tasks of a namespace from the history database, after Kubernetes
forgot them. Reading it needs the same rights as reading LongTasks in that namespace."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from longtask.api import deps, historyrecords
from longtask.api.runtime import Runtime
from longtask.core import resource, wire
from longtask.core.wire import ApiError
from longtask.history import querying
from sqlalchemy.ext.asyncio import AsyncEngine

router = APIRouter(prefix="/v1/namespaces/{namespace}/history", tags=["history"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.Error} for code in (401, 403, 404, 422, 503)
}
Uid = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$", description="The task's UID (metadata.uid).")
]


def _engine(runtime: Runtime) -> AsyncEngine:
    if runtime.history is None:
        raise ApiError(
            503, "history_unavailable", "this gateway has no history database configured"
        )
    return runtime.history


@router.get(
    "",
    response_model=wire.HistoryList,
    responses=ERRORS,
    summary="Finished tasks of the namespace, newest first",
)
async def list_history(
    namespace: deps.Namespace,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("list"))],
    phase: Annotated[
        list[resource.Phase] | None, Query(max_length=6, description="Only these (repeatable).")
    ] = None,
    label_selector: Annotated[
        str | None, Query(alias="labelSelector", max_length=4096, description="kubectl's -l.")
    ] = None,
    name_prefix: Annotated[
        str | None, Query(alias="namePrefix", pattern=r"^[a-z0-9.-]{1,253}$")
    ] = None,
    since: Annotated[dt.datetime | None, Query(description="Finished at or after (UTC).")] = None,
    until: Annotated[dt.datetime | None, Query(description="Finished before (UTC).")] = None,
    queue: Annotated[str | None, Query(pattern=wire.NAME_PATTERN, max_length=63)] = None,
    schedule: Annotated[str | None, Query(pattern=wire.NAME_PATTERN, max_length=253)] = None,
    limit: Annotated[int, Query(ge=1, le=querying.MAX_LIMIT)] = 100,
    continue_: Annotated[
        str | None, Query(alias="continue", max_length=querying.MAX_CURSOR_CHARS)
    ] = None,
) -> wire.HistoryList:
    engine = _engine(runtime)
    try:
        selected = historyrecords.filters(
            phase or [], label_selector, name_prefix, since, until, queue, schedule
        )
        page = await querying.search(engine, namespace, selected, limit, continue_)
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    return wire.HistoryList(
        items=[historyrecords.task(e) for e in page.entries], continue_=page.next
    )


@router.get(
    "/{uid}",
    response_model=wire.HistoryRecord,
    responses=ERRORS,
    summary="One finished task: spec, result, every attempt and its log tail",
)
async def get_history_record(
    namespace: deps.Namespace,
    uid: Uid,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get"))],
) -> wire.HistoryRecord:
    detail = await querying.get(_engine(runtime), namespace, uid)
    if detail is None:
        raise ApiError(404, "not_found", f"no task {uid} in the history of {namespace!r}")
    return historyrecords.record(detail)
