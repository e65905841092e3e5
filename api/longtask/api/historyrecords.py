"""The task history as the gateway shows it: query parameters → `longtask.history` filters, and
its entries → `wire.HistoryTask` / `wire.HistoryRecord`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from longtask.core import resource, wire
from longtask.history import querying, selectors


def filters(
    phases: Sequence[resource.Phase],
    label_selector: str | None,
    name_prefix: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    queue: str | None,
    schedule: str | None,
) -> querying.Filters:
    """The filters of a history query; ValueError for a selector it cannot read."""
    return querying.Filters(
        phases=tuple(sorted({p.value for p in phases})),
        selector=selectors.parse(label_selector or ""),
        name_prefix=name_prefix or None,
        since=_aware(since),
        until=_aware(until),
        queue=queue,
        schedule=schedule,
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time without a zone is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def task(entry: querying.Entry) -> wire.HistoryTask:
    return wire.HistoryTask(**_task_fields(entry))


def _task_fields(entry: querying.Entry) -> dict[str, Any]:
    duration = (
        (entry.finished_at - entry.started_at).total_seconds()
        if entry.started_at is not None
        else None
    )
    return {
        "namespace": entry.namespace,
        "name": entry.name,
        "uid": entry.uid,
        "phase": resource.Phase(entry.phase),
        "reason": entry.reason,
        "message": entry.message,
        "progress": entry.progress,
        "attempt": entry.attempt,
        "queue": entry.queue,
        "schedule": entry.schedule,
        "labels": dict(entry.labels),
        "result_ref": entry.result_ref,
        "created_at": entry.created_at,
        "start_time": entry.started_at,
        "finished_at": entry.finished_at,
        "archived_at": entry.archived_at,
        "duration_seconds": duration,
    }


def record(detail: querying.Detail) -> wire.HistoryRecord:
    dead = detail.dead_letter
    return wire.HistoryRecord(
        **_task_fields(detail.entry),
        spec=dict(detail.spec),
        params_digest=detail.params_digest,
        result=detail.result,
        dead_letter=wire.HistoryDeadLetter.model_validate(dead) if dead else None,
        attempts=[
            wire.AttemptStatus(
                number=a.number,
                job_name=a.job_name,
                start=a.started_at,
                finish=a.finished_at,
                outcome=a.outcome,
                reason=a.reason,
                message=a.message,
                exit_code=a.exit_code,
            )
            for a in detail.attempts
        ],
        log_tail=[wire.HistoryLogLine(attempt=x.attempt, line=x.line) for x in detail.log_tail],
        output=None
        if detail.output is None
        else wire.HistoryOutput.model_validate(dataclasses.asdict(detail.output)),
    )
