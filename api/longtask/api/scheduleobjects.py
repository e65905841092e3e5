"""Pure functions between the gateway's schedule models and LongTaskSchedule objects.

The views of a schedule and of its runs, the runs a trigger or a backfill creates (built by
core's `schedule.build_run`, the operator's own builder, so a backfilled slot's run is the very
run the operator would have started) and the checks those requests need. No I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, cast

from longtask.core import resource, schedule, slots, wire
from longtask.core.wire import ApiError

# Ready reasons that mean the operator refuses to run the schedule: no manual run either.
REFUSED = frozenset(
    {schedule.Reason.INVALID_SCHEDULE.value, schedule.Reason.SECONDS_NOT_ENABLED.value}
)


def typed(obj: Mapping[str, Any]) -> schedule.LongTaskSchedule:
    """A schedule object from the API server, typed from here on."""
    return cast(schedule.LongTaskSchedule, obj)


def owner_uid(run: Mapping[str, Any]) -> str | None:
    for owner in (run.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("kind") == schedule.KIND and owner.get("controller"):
            return str(owner.get("uid"))
    return None


def runs_of(sched: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The schedule's runs among `tasks`: labelled with its name and owned by it, newest first."""
    meta = sched.get("metadata") or {}
    found = [
        dict(t)
        for t in tasks
        if ((t.get("metadata") or {}).get("labels") or {}).get(schedule.LABEL_SCHEDULE)
        == meta.get("name")
        and owner_uid(t) == meta.get("uid")
    ]
    return sorted(found, key=_run_order, reverse=True)


def _run_order(run: Mapping[str, Any]) -> tuple[str, str]:
    meta = run.get("metadata") or {}
    labels = meta.get("labels") or {}
    return (str(labels.get(schedule.LABEL_SCHEDULED_TIME, "")), str(meta.get("name", "")))


def run_view(run: Mapping[str, Any]) -> wire.ScheduleRun:
    meta = run.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = run.get("status") or {}
    phase = resource.phase_of(cast(resource.Status, status)) or resource.Phase.PENDING
    return wire.ScheduleRun.model_validate(
        {
            "name": meta.get("name", ""),
            "scheduledTime": schedule.parse_label_time(
                str(labels.get(schedule.LABEL_SCHEDULED_TIME, ""))
            ),
            "trigger": labels.get(schedule.LABEL_TRIGGER),
            "phase": phase,
            "progress": status.get("progress"),
            "message": status.get("message"),
            "createdAt": meta.get("creationTimestamp"),
            "completionTime": status.get("completionTime"),
        }
    )


def ready_condition(sched: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (sched.get("status") or {}).get("conditions") or []:
        if condition.get("type") == schedule.ConditionType.READY.value:
            return cast(Mapping[str, Any], condition)
    return None


def links(namespace: str, name: str) -> wire.ScheduleLinks:
    base = f"/v1/namespaces/{namespace}/schedules/{name}"
    return wire.ScheduleLinks.model_validate(
        {
            "self": base,
            "trigger": f"{base}/trigger",
            "backfill": f"{base}/backfill",
            "suspend": f"{base}/suspend",
            "resume": f"{base}/resume",
            "runs": f"/v1/namespaces/{namespace}/tasks?labelSelector="
            f"{schedule.LABEL_SCHEDULE}%3D{name}",
        }
    )


def schedule_view(sched: Mapping[str, Any], runs: Iterable[Mapping[str, Any]]) -> wire.Schedule:
    """The `Schedule` the API returns for a schedule object and its runs."""
    meta = sched.get("metadata") or {}
    spec = sched.get("spec") or {}
    status = sched.get("status") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    ready = ready_condition(sched)
    not_ready = ready is not None and ready.get("status") != "True"
    return wire.Schedule.model_validate(
        {
            "namespace": namespace,
            "name": name,
            "uid": meta.get("uid", ""),
            "schedule": spec.get("schedule", ""),
            "timeZone": spec.get("timeZone") or schedule.DEFAULT_TIME_ZONE,
            "suspend": bool(spec.get("suspend", False)),
            "concurrencyPolicy": spec.get("concurrencyPolicy") or "Allow",
            "missedRuns": spec.get("missedRuns") or "RunLatest",
            "ready": None if ready is None else ready.get("status") == "True",
            "reason": ready.get("reason") if ready is not None and not_ready else None,
            "message": ready.get("message") if ready is not None else None,
            "createdAt": meta.get("creationTimestamp"),
            "lastScheduleTime": status.get("lastScheduleTime"),
            "nextScheduleTime": status.get("nextScheduleTime"),
            "lastSuccessfulTime": status.get("lastSuccessfulTime"),
            "lastRun": status.get("lastRun"),
            "activeRuns": status.get("activeRuns") or 0,
            "consecutiveFailures": status.get("consecutiveFailures") or 0,
            "conditions": status.get("conditions") or [],
            "spec": spec,
            "runs": [run_view(r) for r in runs],
            "links": links(namespace, name),
        }
    )


def check_runnable(sched: Mapping[str, Any]) -> None:
    """Refuse a manual run or backfill of a schedule the operator refuses (409)."""
    ready = ready_condition(sched)
    if ready is not None and ready.get("reason") in REFUSED:
        raise ApiError(
            409,
            "schedule_invalid",
            f"the operator refuses this schedule ({ready.get('reason')}): {ready.get('message')}",
        )


def trigger_run(sched: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The run a trigger creates: named from the schedule and the second it was asked for."""
    moment = now.astimezone(dt.UTC).replace(microsecond=0)
    return dict(schedule.build_run(typed(sched), moment, schedule.Trigger.MANUAL))


def backfill_slots(
    sched: Mapping[str, Any], start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> list[dt.datetime]:
    """The schedule's slots from `start` to `end`, both included; 422 when `end` is in the
    future or the range holds more than BACKFILL_MAX_SLOTS slots."""
    if end > now:
        raise ApiError(422, "invalid_request", "end is in the future: backfill only past slots")
    spec = sched.get("spec") or {}
    try:
        # Seconds are allowed here: the operator's own refusal (Ready) was checked before.
        cron = slots.parse(
            str(spec.get("schedule", "")),
            str(spec.get("timeZone") or schedule.DEFAULT_TIME_ZONE),
            allow_seconds=True,
        )
    except slots.InvalidSchedule as exc:
        raise ApiError(409, "schedule_invalid", str(exc)) from None
    limit = schedule.BACKFILL_MAX_SLOTS
    found, complete = cron.between(start - dt.timedelta(microseconds=1), end, limit)
    if not complete:
        raise ApiError(
            422,
            "too_many_slots",
            f"more than {limit} slots between {start.isoformat()} and {end.isoformat()}: "
            f"backfill at most {limit} per request",
        )
    return found


def backfill_run(sched: Mapping[str, Any], slot: dt.datetime) -> dict[str, Any]:
    return dict(schedule.build_run(typed(sched), slot, schedule.Trigger.BACKFILL))
