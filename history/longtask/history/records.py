"""A finished LongTask as one archive record (pure: no I/O).

The record is built from the LongTask object alone (plus its log tail and its output, read
from Redis by the writer), so that any process that sees the object can rebuild the same
record: an operator that restarts before archiving builds it again, and the database's unique
UID keeps one copy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from longtask.core import outputs, resource
from longtask.core.resource import ConditionType, LongTask

from .settings import ParamsMode

# Bounds of what one record keeps of a task's log (the tail, not the whole log).
LOG_LINE_MAX_CHARS: Final = 4096
DIGEST_PREFIX: Final = "sha256:"


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One attempt of the task, as `status.attempts` recorded it."""

    number: int
    job_name: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    outcome: str | None = None
    reason: str | None = None
    exit_code: int | None = None
    message: str | None = None


@dataclasses.dataclass(frozen=True)
class LogLine:
    """One line of the task's output, with the attempt that printed it."""

    line: str
    attempt: int | None = None


@dataclasses.dataclass(frozen=True)
class Output:
    """The start of the task's output (what it wrote with `ctx.output` or `::output`), bounded."""

    text: str
    """The output as text (JSON chunks one per line), at most the kept bytes."""
    chunks: int
    """How many chunks the whole output had."""
    bytes: int
    """UTF-8 bytes of the whole output as text."""
    truncated: bool
    """`text` is the start of a longer output."""


def output(assembly: outputs.Assembly, max_bytes: int) -> Output | None:
    """What a record keeps of an output: its first `max_bytes` (cut at a character), or None
    when there is none (or none is kept)."""
    if not assembly.chunks or max_bytes <= 0:
        return None
    whole = assembly.text().encode()
    kept = whole[:max_bytes].decode(errors="ignore")
    return Output(kept, len(assembly.chunks), len(whole), len(whole) > max_bytes)


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    """Why a dead-lettered task was given up (from its status: the last attempt)."""

    attempts: int
    reason: str | None
    error: str | None
    at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Record:
    """What the history keeps of one finished task."""

    uid: str
    namespace: str
    name: str
    phase: str
    finished_at: dt.datetime
    reason: str | None = None
    message: str | None = None
    progress: float | None = None
    attempt: int = 0
    """How many attempts were made (the last attempt's number)."""
    queue: str | None = None
    schedule: str | None = None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    spec: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """The spec as the task ran; without `params` when only their digest is kept."""
    params_digest: str | None = None
    result: Any = None
    result_ref: str | None = None
    dead_letter: DeadLetter | None = None
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    attempts: Sequence[Attempt] = ()
    log_tail: Sequence[LogLine] = ()
    output: Output | None = None


def parse_time(value: object) -> dt.datetime | None:
    """An RFC 3339 time of the API server (`2026-01-01T12:00:00Z`) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def digest(params: Any) -> str:
    """The SHA-256 of the params' canonical JSON (sorted keys, compact)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DIGEST_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def build(
    task: LongTask,
    log_tail: Sequence[LogLine] = (),
    params: ParamsMode = ParamsMode.FULL,
    now: dt.datetime | None = None,
    output: Output | None = None,
) -> Record:
    """The record of a finished task (its phase must be final)."""
    meta = task["metadata"]
    spec: dict[str, Any] = dict(task.get("spec") or {})
    status = task.get("status") or {}
    phase = resource.phase_of(status)
    if phase is None or not phase.is_final:
        raise ValueError(f"{meta.get('namespace')}/{meta.get('name')} has not finished")
    spec.pop("cancel", None)  # how it ended is the phase; cancel is a request, not the spec
    params_digest = digest(spec.get("params") or {})
    if params is ParamsMode.DIGEST:
        spec.pop("params", None)
    labels = dict(meta.get("labels") or {})
    attempts = tuple(_attempt(a) for a in status.get("attempts") or [])
    finished = parse_time(status.get("completionTime")) or now or dt.datetime.now(dt.UTC)
    return Record(
        uid=meta["uid"],
        namespace=meta["namespace"],
        name=meta["name"],
        phase=phase.value,
        finished_at=finished,
        reason=status.get("reason"),
        message=status.get("message"),
        progress=_float(status.get("progress")),
        attempt=int(status.get("attempt") or len(attempts)),
        queue=spec.get("queue"),
        schedule=labels.get(resource.LABEL_SCHEDULE),
        labels=labels,
        spec=spec,
        params_digest=params_digest,
        result=status.get("result"),
        result_ref=status.get("resultRef"),
        dead_letter=_dead_letter(status, attempts),
        created_at=parse_time(meta.get("creationTimestamp")),
        started_at=parse_time(status.get("startTime")),
        attempts=attempts,
        log_tail=tuple(log_tail),
        output=output,
    )


def log_line(fields: Mapping[str, str]) -> LogLine:
    """A line of the task's log stream (`keys.logs`: fields `line` and `attempt`), bounded."""
    attempt = fields.get("attempt", "")
    return LogLine(
        line=fields.get("line", "")[:LOG_LINE_MAX_CHARS],
        attempt=int(attempt) if attempt.isdigit() else None,
    )


def _attempt(raw: resource.AttemptRecord) -> Attempt:
    return Attempt(
        number=int(raw.get("number") or 0),
        job_name=raw.get("jobName"),
        started_at=parse_time(raw.get("start")),
        finished_at=parse_time(raw.get("finish")),
        outcome=raw.get("outcome"),
        reason=raw.get("reason"),
        exit_code=raw.get("exitCode"),
        message=raw.get("message"),
    )


def _dead_letter(status: resource.Status, attempts: Sequence[Attempt]) -> DeadLetter | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == ConditionType.DEAD_LETTERED and condition.get("status") == (
            "True"
        ):
            last = attempts[-1] if attempts else None
            return DeadLetter(
                attempts=len(attempts),
                reason=last.reason if last else condition.get("reason"),
                error=last.message if last else condition.get("message"),
                at=parse_time(condition.get("lastTransitionTime")),
            )
    return None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
