"""A task's Kubernetes Events: those the operator posts on the LongTask and those the Job
controller posts on its attempts' Jobs, oldest first (what `kubectl describe` would show)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from longtask.api import deps
from longtask.core import wire

router = APIRouter(prefix="/v1/namespaces/{namespace}", tags=["tasks"])

# Jobs of the latest attempts whose Events are read (one API call each).
JOBS_READ: Final = 5
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.Error} for code in (401, 403, 404, 422, 503)
}


def _view(event: dict[str, Any]) -> wire.KubeEvent:
    involved = event.get("involvedObject") or {}
    source = event.get("reportingComponent") or (event.get("source") or {}).get("component")
    first = event.get("firstTimestamp") or event.get("eventTime")
    return wire.KubeEvent(
        object=f"{involved.get('kind', '?')}/{involved.get('name', '?')}",
        type=event.get("type"),
        reason=event.get("reason"),
        message=event.get("message"),
        count=event.get("count"),
        first_time=first,
        last_time=event.get("lastTimestamp") or first,
        source=source or None,
    )


def _created(obj: dict[str, Any]) -> datetime:
    """When `obj` was created (the epoch when it does not say)."""
    raw = str((obj.get("metadata") or {}).get("creationTimestamp") or "")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


@router.get(
    "/tasks/{name}/kube-events",
    response_model=wire.KubeEventList,
    responses=ERRORS,
    summary="The Kubernetes Events of a task and of its attempts' Jobs",
)
async def task_kube_events(
    namespace: deps.Namespace,
    name: deps.TaskName,
    runtime: deps.RuntimeDep,
    _: Annotated[object, Depends(deps.allow("get"))],
) -> wire.KubeEventList:
    task = await runtime.kube.get(namespace, name)
    uid = str((task.get("metadata") or {}).get("uid"))
    attempts = (task.get("status") or {}).get("attempts") or []
    jobs = [a["jobName"] for a in attempts[-JOBS_READ:] if a.get("jobName")]
    selectors = [f"involvedObject.uid={uid}"] + [
        f"involvedObject.kind=Job,involvedObject.name={job}" for job in jobs
    ]
    found = await asyncio.gather(*(runtime.kube.events(namespace, s) for s in selectors))
    # A Job of the same name may have belonged to an earlier task of the same name.
    since = _created(task)
    events = [_view(e) for group in found for e in group if _created(e) >= since]
    events.sort(key=lambda e: e.last_time.timestamp() if e.last_time else 0.0)
    return wire.KubeEventList(items=events)
