"""Schedules: list, get, trigger a run now, backfill past slots, suspend and resume.

Authorised like tasks, with SubjectAccessReviews on `longtaskschedules`: list and get need those
verbs on it; suspend and resume `patch` (routes from `suspending`); a trigger or a backfill `get`
on the schedule and `create` on `longtasks` (what they make), as `kubectl create job
--from=cronjob/…` needs.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.api import deps, scheduleobjects, suspending, taskobjects
from longtask.api.runtime import Runtime
from longtask.core import schedule, wire
from longtask.core.wire import ApiError

router = APIRouter(prefix="/v1/namespaces/{namespace}", tags=["schedules"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.Error} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}
NAME = Path(
    pattern=wire.NAME_PATTERN,
    max_length=schedule.NAME_MAX_CHARS,
    description="The schedule's name.",
)
ScheduleName = Annotated[str, NAME]
PLURAL = schedule.PLURAL
RUNS_SELECTOR = schedule.LABEL_SCHEDULE


async def _runs(runtime: Runtime, namespace: str, name: str | None = None) -> list[Any]:
    selector = f"{RUNS_SELECTOR}={name}" if name else RUNS_SELECTOR
    listing = await runtime.kube.list(namespace, label_selector=selector)
    return list(listing.get("items") or [])


async def _view(runtime: Runtime, obj: dict[str, Any]) -> wire.Schedule:
    meta = obj.get("metadata") or {}
    runs = await _runs(runtime, str(meta.get("namespace")), str(meta.get("name")))
    return scheduleobjects.schedule_view(obj, scheduleobjects.runs_of(obj, runs))


@router.get(
    "/schedules",
    response_model=wire.ScheduleList,
    responses={**ERRORS, 410: {"model": wire.Error, "description": "continue expired"}},
    summary="List schedules, each with its next slot and its runs",
)
async def list_schedules(
    namespace: deps.Namespace,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("list", PLURAL))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    continue_: Annotated[
        str | None, Query(alias="continue", max_length=4096, description="From the last page.")
    ] = None,
) -> wire.ScheduleList:
    listing, runs = await asyncio.gather(
        runtime.kube.list(namespace, limit=limit, continue_=continue_, plural=PLURAL),
        _runs(runtime, namespace),
    )
    items = listing.get("items") or []
    if not items:
        await runtime.namespaces.require(namespace)
    views = [scheduleobjects.schedule_view(o, scheduleobjects.runs_of(o, runs)) for o in items]
    next_page = (listing.get("metadata") or {}).get("continue") or None
    return wire.ScheduleList.model_validate({"items": views, "continue": next_page})


@router.get(
    "/schedules/{name}", response_model=wire.Schedule, responses=ERRORS, summary="Get a schedule"
)
async def get_schedule(
    namespace: deps.Namespace,
    name: ScheduleName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get", PLURAL))],
) -> wire.Schedule:
    return await _view(runtime, await runtime.kube.get(namespace, name, plural=PLURAL))


async def _create_run(
    runtime: Runtime, namespace: str, sched: dict[str, Any], manifest: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The run, and whether it was created now (False: a run of that name existed)."""
    try:
        return await runtime.kube.create(namespace, manifest), True
    except ApiException as exc:
        if exc.status != 409:
            raise
    run_name = manifest["metadata"]["name"]
    existing = await runtime.kube.get(namespace, run_name)
    if scheduleobjects.owner_uid(existing) != (sched.get("metadata") or {}).get("uid"):
        raise ApiError(
            409, "name_taken", f"LongTask {run_name!r} exists and is not a run of this schedule"
        ) from None
    return existing, False


@router.post(
    "/schedules/{name}/trigger",
    status_code=status.HTTP_201_CREATED,
    response_model=wire.Task,
    responses={200: {"model": wire.Task, "description": "Triggered in the same second"}, **ERRORS},
    summary="Run the schedule's template now, outside its slots",
)
async def trigger(
    namespace: deps.Namespace,
    name: ScheduleName,
    response: Response,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get", PLURAL))],
    __: Annotated[object, Depends(deps.allow("create"))],
) -> wire.Task:
    sched = await runtime.kube.get(namespace, name, plural=PLURAL)
    scheduleobjects.check_runnable(sched)
    manifest = scheduleobjects.trigger_run(sched, datetime.now(UTC))
    run, created = await _create_run(runtime, namespace, sched, manifest)
    if not created:
        response.status_code = status.HTTP_200_OK
    return taskobjects.task_view(run)


@router.post(
    "/schedules/{name}/backfill",
    status_code=status.HTTP_201_CREATED,
    response_model=wire.BackfillResult,
    responses={200: {"model": wire.BackfillResult, "description": "Nothing new"}, **ERRORS},
    summary=f"Run the past slots from start to end (at most {schedule.BACKFILL_MAX_SLOTS})",
)
async def backfill(
    namespace: deps.Namespace,
    name: ScheduleName,
    body: Annotated[wire.Backfill, Body()],
    response: Response,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get", PLURAL))],
    __: Annotated[object, Depends(deps.allow("create"))],
) -> wire.BackfillResult:
    sched = await runtime.kube.get(namespace, name, plural=PLURAL)
    scheduleobjects.check_runnable(sched)
    found = scheduleobjects.backfill_slots(sched, body.start, body.end, datetime.now(UTC))
    created: list[wire.Task] = []
    existing: list[str] = []
    for slot in found:
        run, new = await _create_run(
            runtime, namespace, sched, scheduleobjects.backfill_run(sched, slot)
        )
        if new:
            created.append(taskobjects.task_view(run))
        else:
            existing.append(str(run["metadata"]["name"]))
    if not created:
        response.status_code = status.HTTP_200_OK
    return wire.BackfillResult(slots=found, created=created, existing=existing)


suspending.add_routes(
    router,
    "schedules",
    plural=PLURAL,
    name=NAME,
    view=_view,
    response_model=wire.Schedule,
    responses=ERRORS,
    summaries=(
        "Suspend the schedule (no slot starts until it is resumed)",
        "Resume the schedule (missed slots follow its missedRuns)",
    ),
)
