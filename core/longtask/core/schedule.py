"""The LongTaskSchedule custom resource: names, policies, conditions, labels, the shape of the
object (`LongTaskSchedule`, `ScheduleSpec`, `ScheduleStatus`), and the run it creates per slot.

A schedule creates one LongTask per cron slot. The run's name derives from the schedule's name
and the slot's time (`run_name`), so every writer that creates the run of a slot — the operator
after a restart, a second operator, a retried create, the gateway's backfill — names the same
object, and an existing name is the same run. `build_run` is the one pure function that builds
a run; the operator and the gateway both call it.

As in `resource`, the shapes are TypedDicts over the JSON the API server sends; the CRD in
`deploy/crds/` declares every field typed here and a unit test keeps the two equal.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from typing import Final, NotRequired, TypedDict

from longtask.core import resource

GROUP: Final = resource.GROUP
VERSION: Final = resource.VERSION
API_VERSION: Final = resource.API_VERSION
KIND: Final = "LongTaskSchedule"
PLURAL: Final = "longtaskschedules"
SINGULAR: Final = "longtaskschedule"
SHORT_NAME: Final = "lts"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"

# metadata.name of a schedule: at most this long, so that the longest run name
# (`<schedule>-manual-<yyyymmdd>-<hhmmss>`) stays a valid label value (63 characters).
NAME_MAX_CHARS: Final = 40

# Defaults of spec fields the schema leaves optional (the CRD sets the same defaults).
DEFAULT_TIME_ZONE: Final = "UTC"
DEFAULT_SUCCESSFUL_HISTORY: Final = 3
DEFAULT_FAILED_HISTORY: Final = 1
DEFAULT_MAX_MISSED_RUNS: Final = 10
MAX_MISSED_RUNS_LIMIT: Final = 100
# Slots one backfill request may create at most.
BACKFILL_MAX_SLOTS: Final = 100


class ConcurrencyPolicy(enum.StrEnum):
    """spec.concurrencyPolicy: what a slot does while an earlier run is still active."""

    ALLOW = "Allow"  # start it anyway
    FORBID = "Forbid"  # skip the slot (recorded as missed, reason ConcurrencyForbid)
    REPLACE = "Replace"  # cancel the active runs (spec.cancel: SIGTERM) and start it


class MissedRuns(enum.StrEnum):
    """spec.missedRuns: what happens to slots that passed while no operator could start them
    (operator down, schedule suspended)."""

    SKIP = "Skip"  # none of them runs
    RUN_LATEST = "RunLatest"  # the latest runs, the others are skipped
    RUN_ALL = "RunAll"  # each runs (at most spec.maxMissedRuns, the latest ones)


class Trigger(enum.StrEnum):
    """Label `longtask.io/trigger` of a run: what created it."""

    SCHEDULE = "schedule"  # the operator, on the run's slot
    MANUAL = "manual"  # a trigger request (gateway, CLI): runs now, outside the cron slots
    BACKFILL = "backfill"  # a backfill request for a past slot


class ConditionType(enum.StrEnum):
    """status.conditions[].type of a schedule."""

    # True while the operator starts the schedule's slots: valid and not suspended.
    READY = "Ready"
    # True while spec.suspend is set; the reason tells whether by hand or pauseAfterFailures.
    SUSPENDED = "Suspended"


class Reason(enum.StrEnum):
    """CamelCase reasons of a schedule's conditions and Kubernetes Events."""

    # Ready: the schedule is valid and its slots are started.
    SCHEDULING = "Scheduling"
    # Ready=False: the cron expression or time zone is invalid (the message names the field).
    INVALID_SCHEDULE = "InvalidSchedule"
    # Ready=False: a seconds field, which only an operator started for tests accepts.
    SECONDS_NOT_ENABLED = "SecondsNotEnabled"
    # Suspended=True set by hand (spec.suspend).
    SUSPENDED = "Suspended"
    # Suspended=True set by the operator: pauseAfterFailures runs failed in a row.
    TOO_MANY_FAILURES = "TooManyFailures"
    # Suspended=False again.
    RESUMED = "Resumed"
    # Event: a run was created for a slot (or by a trigger or backfill).
    RUN_STARTED = "RunStarted"
    # Event: a run of this schedule finished.
    RUN_SUCCEEDED = "RunSucceeded"
    RUN_FAILED = "RunFailed"
    # Event: an active run is cancelled because a new slot replaces it (concurrencyPolicy Replace).
    RUN_REPLACED = "RunReplaced"
    # Event: a finished run was deleted by the history limits.
    RUN_PRUNED = "RunPruned"
    # Event: a run's name is taken by a LongTask the schedule does not own.
    NAME_CONFLICT = "NameConflict"
    # Slot skipped (Event reason and metric label):
    # the slot passed while no operator watched or the schedule was suspended (missedRuns Skip,
    # or not the latest for RunLatest).
    MISSED = "Missed"
    # a run was still active (concurrencyPolicy Forbid).
    CONCURRENCY_FORBID = "ConcurrencyForbid"
    # the slot is older than startingDeadlineSeconds.
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    # RunAll had more missed slots than maxMissedRuns: the oldest are skipped.
    TOO_MANY_MISSED = "TooManyMissed"


# Labels and annotations on each run.
LABEL_SCHEDULE: Final = f"{GROUP}/schedule"
# The slot's time in UTC, `20260301T020000Z` (a label value: selectable, sortable).
LABEL_SCHEDULED_TIME: Final = f"{GROUP}/scheduled-time"
LABEL_TRIGGER: Final = f"{GROUP}/trigger"
# The slot's time in RFC 3339 (`2026-03-01T02:00:00Z`).
ANNOTATION_SCHEDULED_TIME: Final = f"{GROUP}/scheduled-time"

LABEL_TIME_FORMAT: Final = "%Y%m%dT%H%M%SZ"
NAME_TIME_FORMAT: Final = "%Y%m%d-%H%M%S"


# The object's shape --------------------------------------------------------------------------


class TemplateMeta(TypedDict, total=False):
    """`spec.template.metadata`: labels and annotations each run gets."""

    labels: dict[str, str]
    annotations: dict[str, str]


class Template(TypedDict):
    """`spec.template`: the LongTask each run is."""

    metadata: NotRequired[TemplateMeta]
    spec: resource.Spec


class ScheduleSpec(TypedDict):
    """`spec`: when to run what, and what to do with overlaps, missed slots and failures."""

    schedule: str
    """Cron: 5 fields or a macro (`@daily`); a leading seconds field only for tests."""
    template: Template
    timeZone: NotRequired[str]
    concurrencyPolicy: NotRequired[str]
    """A ConcurrencyPolicy value."""
    missedRuns: NotRequired[str]
    """A MissedRuns value."""
    startingDeadlineSeconds: NotRequired[int]
    maxMissedRuns: NotRequired[int]
    suspend: NotRequired[bool]
    pauseAfterFailures: NotRequired[int]
    successfulRunsHistoryLimit: NotRequired[int]
    failedRunsHistoryLimit: NotRequired[int]


class RunRef(TypedDict, total=False):
    """An entry of `status.active`: a run that has not finished."""

    name: str
    scheduledTime: str


class LastRun(TypedDict, total=False):
    """`status.lastRun`: the run that finished last."""

    name: str
    scheduledTime: str
    phase: str
    """Succeeded, Failed or Cancelled."""
    completionTime: str


class ScheduleStatus(TypedDict, total=False):
    """`status`, written by the operator. In a merge patch, None deletes a field."""

    lastScheduleTime: str
    """The latest slot handled (run or skipped): slots after it are still to come."""
    nextScheduleTime: str | None
    active: list[RunRef]
    activeRuns: int
    lastRun: LastRun
    lastSuccessfulTime: str
    consecutiveFailures: int
    conditions: list[resource.Condition]
    observedGeneration: int


class LongTaskSchedule(TypedDict):
    """A LongTaskSchedule object."""

    apiVersion: str
    kind: str
    metadata: resource.ObjectMeta
    spec: ScheduleSpec
    status: NotRequired[ScheduleStatus]


# Runs ----------------------------------------------------------------------------------------


def label_time(slot: dt.datetime) -> str:
    """A slot's time as the value of the scheduled-time label."""
    return slot.astimezone(dt.UTC).strftime(LABEL_TIME_FORMAT)


def parse_label_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, LABEL_TIME_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def run_name(schedule: str, slot: dt.datetime, trigger: Trigger = Trigger.SCHEDULE) -> str:
    """`<schedule>-<yyyymmdd>-<hhmmss>` (UTC), or `<schedule>-manual-…` for a trigger request.

    A slot's run has one name whoever creates it (a backfill of a slot names the same run as
    the operator). Names of schedules longer than NAME_MAX_CHARS (refused by the CRD) are cut and
    keep a hash, so the name stays valid everywhere."""
    stamp = slot.astimezone(dt.UTC).strftime(NAME_TIME_FORMAT)
    middle = "-manual" if trigger is Trigger.MANUAL else ""
    base = schedule
    if len(base) > NAME_MAX_CHARS:
        digest = hashlib.sha256(schedule.encode()).hexdigest()[:6]
        base = f"{schedule[: NAME_MAX_CHARS - 7].rstrip('-.')}-{digest}"
    return f"{base}{middle}-{stamp}"


def owner_reference(schedule: LongTaskSchedule) -> resource.OwnerReference:
    meta = schedule["metadata"]
    return resource.OwnerReference(
        apiVersion=API_VERSION,
        kind=KIND,
        name=meta["name"],
        uid=meta["uid"],
        controller=True,
        blockOwnerDeletion=True,
    )


def build_run(
    schedule: LongTaskSchedule, slot: dt.datetime, trigger: Trigger = Trigger.SCHEDULE
) -> resource.LongTask:
    """The LongTask of `slot`: the template's spec, labels and annotations, owned by the
    schedule and labelled with it, the slot's time and the trigger."""
    meta = schedule["metadata"]
    template = schedule["spec"]["template"]
    template_meta = template.get("metadata") or {}
    labels = {
        k: v
        for k, v in (template_meta.get("labels") or {}).items()
        if k not in (LABEL_SCHEDULE, LABEL_SCHEDULED_TIME, LABEL_TRIGGER)
    }
    labels |= {
        LABEL_SCHEDULE: meta["name"],
        LABEL_SCHEDULED_TIME: label_time(slot),
        LABEL_TRIGGER: trigger.value,
    }
    annotations = dict(template_meta.get("annotations") or {})
    annotations[ANNOTATION_SCHEDULED_TIME] = slot.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = template["spec"].copy()
    spec.pop("cancel", None)
    return resource.LongTask(
        apiVersion=resource.API_VERSION,
        kind=resource.KIND,
        metadata=resource.ObjectMeta(
            name=run_name(meta["name"], slot, trigger),
            namespace=meta["namespace"],
            labels=labels,
            annotations=annotations,
            ownerReferences=[owner_reference(schedule)],
        ),
        spec=spec,
    )
