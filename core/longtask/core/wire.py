"""What crosses the gateway's HTTP API: request and response models, and the error response.

The gateway and the Python client share this module, so neither needs the other; it needs
pydantic, which the runner does not have: only they import it (`longtask.core` itself does not).
Field names are camelCase on the wire, like the LongTask resource itself, and snake_case in
Python (`TaskCreate(timeout_seconds=60)`; serialise with `model_dump(by_alias=True)`). Request
models refuse unknown fields; response models ignore them so older clients keep working. An
error response is `Error` on the wire and `ApiError` in Python, on both sides.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Final

from longtask.core import jsonvalues, outputs, resource, schedule
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# metadata.name of a LongTask: a DNS-1123 label of at most 63 characters (the CRD's own rule).
NAME_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
NAMESPACE_PATTERN: Final = NAME_PATTERN
# generateName: the API server appends 5 random characters; the result must be a name.
GENERATE_NAME_PATTERN: Final = r"^[a-z0-9][-a-z0-9]{0,57}$"
TASK_PATTERN: Final = (
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*"
    r"(\.[A-Za-z_][A-Za-z0-9_]*)*$"
)
_LABEL_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
LABEL_KEY_RE: Final = re.compile(rf"^({_DNS_SUBDOMAIN}/)?{_LABEL_NAME}$")
LABEL_VALUE_RE: Final = re.compile(rf"^({_LABEL_NAME})?$")
QUANTITY_PATTERN: Final = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
# Label and annotation keys under this prefix are the gateway's and operator's own.
RESERVED_PREFIX: Final = f"{resource.GROUP}/"
MAX_LABELS: Final = 64
ANNOTATIONS_MAX_BYTES: Final = 64 * 1024

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=63)]


def json_size(value: Any) -> int:
    """Bytes of the compact JSON of `value` (how the 64 KiB params limit is measured)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


# The error type of a number the API server would not store as sent (`jsonvalues`); its context
# holds the path inside the field, which the gateway appends to the field it names.
JSON_NUMBER_ERROR: Final = "json_number"


class _Request(BaseModel):
    # NaN and Infinity are refused in every float field (pydantic's default accepts them).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", allow_inf_nan=False
    )


class _Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class EnvVar(_Request):
    """An environment variable of the task's container (plain values only: no secret refs)."""

    name: Annotated[str, StringConstraints(pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$", max_length=256)]
    value: Annotated[str, StringConstraints(max_length=32768)] = ""


Quantity = Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN, max_length=64)]


class Resources(_Request):
    """Compute resources of the task's container."""

    requests: dict[Annotated[str, StringConstraints(max_length=253)], Quantity] = Field(
        default_factory=dict, max_length=16
    )
    limits: dict[Annotated[str, StringConstraints(max_length=253)], Quantity] = Field(
        default_factory=dict, max_length=16
    )


class Backoff(_Request):
    """Delay before attempt n+1: initialSeconds x factor^(n-1), capped at maxSeconds."""

    initial_seconds: float | None = Field(None, ge=0, le=86400)
    factor: float | None = Field(None, ge=1, le=100)
    max_seconds: float | None = Field(None, ge=0, le=86400)
    jitter: bool | None = None

    @model_validator(mode="after")
    def _max_not_below_initial(self) -> Backoff:
        if (
            self.initial_seconds is not None
            and self.max_seconds is not None
            and self.max_seconds < self.initial_seconds
        ):
            raise ValueError("maxSeconds must be at least initialSeconds")
        return self


class RetryPolicy(_Request):
    """How failed attempts are retried."""

    max_attempts: int | None = Field(None, ge=1, le=resource.MAX_ATTEMPTS_LIMIT)
    backoff: Backoff | None = None


class TaskSpecFields(_Request):
    """The LongTask spec a client may set (see the CRD for each field's meaning)."""

    task: Annotated[str, StringConstraints(pattern=TASK_PATTERN, max_length=512)] | None = Field(
        None, description='A Python callable "module:function" in the runner image.'
    )
    command: list[Annotated[str, StringConstraints(max_length=32768)]] | None = Field(
        None, min_length=1, max_length=256, description="An argv list to run."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="JSON object handed to the task (at most 64 KiB)."
    )
    image: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    env: list[EnvVar] = Field(default_factory=list, max_length=128)
    resources: Resources | None = None
    service_account_name: (
        Annotated[str, StringConstraints(pattern=rf"^{_DNS_SUBDOMAIN}$", max_length=253)] | None
    ) = None
    timeout_seconds: int | None = Field(None, ge=1, le=2592000)
    stall_seconds: int | None = Field(None, ge=10, le=86400)
    retry: RetryPolicy | None = None
    priority: int | None = Field(None, ge=-1000, le=1000)
    queue: Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=63)] | None = None
    ttl_seconds_after_finished: int | None = Field(None, ge=0, le=2**31 - 1)
    cancel: bool | None = Field(
        None, description="Request cancellation; a task submitted cancelled never starts."
    )

    @field_validator("params")
    @classmethod
    def _params_fit(cls, value: dict[str, Any]) -> dict[str, Any]:
        if found := jsonvalues.problems(value, limit=1):
            raise PydanticCustomError(
                JSON_NUMBER_ERROR,
                "{where}: {problem}",
                {
                    "where": found[0].where("params"),
                    "problem": found[0].message,
                    "path": list(found[0].path),
                },
            )
        size = json_size(value)
        if size > resource.PARAMS_MAX_BYTES:
            raise ValueError(
                f"params is {size} bytes of JSON; at most {resource.PARAMS_MAX_BYTES} are allowed"
            )
        return value

    @model_validator(mode="after")
    def _one_of_task_and_command(self) -> TaskSpecFields:
        if (self.task is None) == (self.command is None):
            raise ValueError("exactly one of task and command must be set")
        return self


class TaskCreate(TaskSpecFields):
    """Body of `POST /v1/namespaces/{ns}/tasks`: name (or generateName), labels and the spec."""

    name: Name | None = Field(None, description="The task's name; generated when unset.")
    generate_name: (
        Annotated[str, StringConstraints(pattern=GENERATE_NAME_PATTERN, max_length=58)] | None
    ) = Field(None, description="Prefix of a generated name (default 'task-').")
    labels: dict[str, str] = Field(default_factory=dict, max_length=MAX_LABELS)
    annotations: dict[str, str] = Field(default_factory=dict, max_length=MAX_LABELS)

    @field_validator("labels")
    @classmethod
    def _labels_valid(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            _check_key(key)
            if not LABEL_VALUE_RE.match(val):
                raise ValueError(
                    f"label {key!r}: value must be at most 63 alphanumerics, '-', '_' or '.', "
                    "starting and ending with an alphanumeric"
                )
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations_valid(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            _check_key(key)
        if json_size(value) > ANNOTATIONS_MAX_BYTES:
            raise ValueError(f"annotations exceed {ANNOTATIONS_MAX_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _one_name(self) -> TaskCreate:
        if self.name is not None and self.generate_name is not None:
            raise ValueError("set at most one of name and generateName")
        return self


def _check_key(key: str) -> None:
    if len(key) > 317 or not LABEL_KEY_RE.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise ValueError(f"{key!r} is not a valid key: [prefix/]name, name at most 63 characters")
    if key.startswith(RESERVED_PREFIX):
        raise ValueError(f"keys under {RESERVED_PREFIX} are reserved for longtask")


class Condition(_Response):
    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


class AttemptStatus(_Response):
    number: int | None = None
    job_name: str | None = None
    start: datetime | None = None
    finish: datetime | None = None
    outcome: str | None = None
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None


class Links(_Response):
    """Where to go next for this task (paths on the gateway)."""

    self_: str = Field(alias="self")
    events: str
    logs: str
    cancel: str
    retry: str
    stream_token: str
    result: str | None = Field(None, description="The task's result, whatever its size.")


class Task(_Response):
    """A LongTask as the gateway shows it: identity, spec, status and links."""

    namespace: str
    name: str
    uid: str
    phase: resource.Phase = resource.Phase.PENDING
    progress: float | None = None
    message: str | None = None
    attempt: int | None = None
    reason: str | None = None
    created_at: datetime | None = None
    start_time: datetime | None = None
    completion_time: datetime | None = None
    next_attempt_time: datetime | None = None
    cancel_requested: bool = False
    retry_of: str | None = Field(None, description="The task this one re-runs, if a retry.")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    spec: dict[str, Any] = Field(
        default_factory=dict, description="The LongTask spec as stored (see TaskCreate's fields)."
    )
    result: Any = None
    result_ref: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    attempts: list[AttemptStatus] = Field(default_factory=list)
    queue_position: int | None = Field(
        None,
        description="Place in the task's queue while Queued, refreshed coarsely (the task's "
        "event stream carries the live place as `queue` events).",
    )
    links: Links


class TaskList(_Response):
    items: list[Task]
    continue_: str | None = Field(
        None, alias="continue", description="Pass as ?continue= to get the next page."
    )


class Event(_Response):
    """One event of a task's stream (the `data` of an SSE event), as written by runner/operator."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="progress, status, heartbeat, result, log, end, snapshot or gap.")
    ts: int | None = Field(None, description="Unix milliseconds.")
    attempt: int | None = None
    progress: float | None = None
    message: str | None = None
    phase: str | None = None
    reason: str | None = None


class StreamEvent(_Response):
    """A message of the WebSocket endpoint: the same fields as an SSE event."""

    id: str | None = Field(None, description="Redis stream id; none for snapshot and watch events.")
    event: str
    data: dict[str, Any]


class Gap(_Response):
    """Entries after `after` and before `before` are gone, some or all (see SSE `gap`)."""

    after: str = Field(description="The reader's resume point (0-0: from the start).")
    before: str | None = Field(None, description="The oldest entry kept, where reading goes on.")
    skipped: int | None = Field(None, description="How many are missing, when known.")


class LogLine(_Response):
    id: str
    attempt: int | None = None
    line: str
    ts: int | None = Field(None, description="When the line was stored (unix ms, its stream id).")
    gap: Gap | None = Field(
        None,
        description="Set on a marker line (not output): lines before the next one were trimmed.",
    )


class OutputChunk(_Response):
    """One chunk of a task's output (see `outputs`)."""

    seq: int = Field(description="Its place in the task's output, from 0.")
    attempt: int = Field(description="The attempt that wrote it.")
    chunk: Any = Field(description="Text, or a JSON value when `json` is true.")
    json_: bool = Field(False, alias="json", description="The chunk is a JSON value.")


class TaskOutput(_Response):
    """A task's output so far: its chunks from `start`, earlier attempts' retractions applied."""

    chunks: list[OutputChunk]
    next: int = Field(description="The `seq` of the next chunk (the number of chunks so far).")
    retracted: int = Field(
        0, description="Chunks of failed attempts withdrawn so far (after their last checkpoint)."
    )

    def text(self) -> str:
        """The chunks as printed: text as is, each JSON value on a line of its own."""
        return "".join(
            outputs.Chunk(c.seq, c.attempt, c.chunk, c.json_).text() for c in self.chunks
        )


class TaskLogs(_Response):
    items: list[LogLine]
    next: str | None = Field(None, description="Pass as ?after= to read on.")


class DeadLetter(_Response):
    id: str = Field(description="Stream id of the entry.")
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    error: str | None = Field(None, description="The last attempt's error message.")
    reason: str | None = Field(None, description="Why the last attempt failed.")
    attempts: int | None = None
    ts: int | None = Field(None, description="When it was dead-lettered (unix ms).")
    fields: dict[str, str] = Field(default_factory=dict, description="Every field of the entry.")


class DeadLetterList(_Response):
    items: list[DeadLetter]
    next: str | None = Field(None, description="Pass as ?before= for older entries.")


class KubeEvent(_Response):
    """A Kubernetes Event about a task or one of its attempts' Jobs."""

    object: str = Field(description="What it is about: LongTask/NAME or Job/NAME.")
    type: str | None = Field(None, description="Normal or Warning.")
    reason: str | None = None
    message: str | None = None
    count: int | None = None
    first_time: datetime | None = None
    last_time: datetime | None = None
    source: str | None = Field(None, description="The component that reported it.")


class KubeEventList(_Response):
    items: list[KubeEvent] = Field(description="Oldest first.")


class FinishedMinute(_Response):
    """The tasks that finished within one minute, and how long they ran."""

    start: datetime
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    mean_seconds: float | None = Field(None, description="Mean run time (start to finish).")
    max_seconds: float | None = None


class Summary(_Response):
    """A namespace at a glance: tasks per phase, and the tasks finished per minute lately."""

    namespace: str
    total: int
    phases: dict[str, int] = Field(description="Tasks per phase (every phase, zeros included).")
    minutes: list[FinishedMinute] = Field(description="The last minutes, oldest first.")
    generated_at: datetime


class HistoryTask(_Response):
    """A finished task as the history keeps it (one row of `GET …/history`)."""

    namespace: str
    name: str
    uid: str
    phase: resource.Phase
    reason: str | None = None
    message: str | None = None
    progress: float | None = None
    attempt: int = Field(0, description="Attempts made.")
    queue: str | None = None
    schedule: str | None = Field(None, description="The LongTaskSchedule that created it.")
    labels: dict[str, str] = Field(default_factory=dict)
    result_ref: str | None = None
    created_at: datetime | None = None
    start_time: datetime | None = None
    finished_at: datetime
    archived_at: datetime
    duration_seconds: float | None = Field(None, description="From its start to its end.")


class HistoryLogLine(_Response):
    attempt: int | None = None
    line: str


class HistoryDeadLetter(_Response):
    """Why a dead-lettered task was given up: its last attempt."""

    attempts: int
    reason: str | None = None
    error: str | None = None
    at: datetime | None = None


class HistoryOutput(_Response):
    """The start of a finished task's output, as the history keeps it (bounded)."""

    text: str = Field(description="The output as text (JSON chunks one per line), cut if long.")
    chunks: int = Field(description="How many chunks the whole output had.")
    bytes: int = Field(description="UTF-8 bytes of the whole output.")
    truncated: bool = Field(description="`text` is the start of a longer output.")


class HistoryRecord(HistoryTask):
    """One finished task whole (`GET …/history/{uid}`): its spec, result, every attempt and
    the tail of its log."""

    spec: dict[str, Any] = Field(
        default_factory=dict, description="The spec it ran with (params left out in digest mode)."
    )
    params_digest: str | None = Field(None, description="sha256:<hex> of the params' JSON.")
    result: Any = None
    dead_letter: HistoryDeadLetter | None = None
    attempts: list[AttemptStatus] = Field(default_factory=list)
    log_tail: list[HistoryLogLine] = Field(default_factory=list)
    output: HistoryOutput | None = Field(
        None, description="The start of the task's output, when it wrote one."
    )


class HistoryList(_Response):
    items: list[HistoryTask]
    continue_: str | None = Field(
        None, alias="continue", description="Pass as ?continue= to get the next (older) page."
    )


class StreamToken(_Response):
    token: str
    expires_at: datetime
    url: str = Field(description="The stream's path with the token as ?token=.")


# Schedules ------------------------------------------------------------------------------------

ScheduleName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, max_length=schedule.NAME_MAX_CHARS)
]
# Defaults of `Schedule`, whose field `schedule` hides the module inside the class.
_DEFAULT_TIME_ZONE: Final = schedule.DEFAULT_TIME_ZONE
_DEFAULT_CONCURRENCY: Final = schedule.ConcurrencyPolicy.ALLOW.value
_DEFAULT_MISSED_RUNS: Final = schedule.MissedRuns.RUN_LATEST.value


class ScheduleRun(_Response):
    """A run of a schedule, in brief (the whole task: GET …/tasks/{name})."""

    name: str
    scheduled_time: datetime | None = Field(
        None, description="The slot (for a manual run: when it was triggered)."
    )
    trigger: str | None = Field(None, description="schedule, manual or backfill.")
    phase: resource.Phase = resource.Phase.PENDING
    progress: float | None = None
    message: str | None = None
    created_at: datetime | None = None
    completion_time: datetime | None = None


class LastRun(_Response):
    """The run that finished last."""

    name: str | None = None
    scheduled_time: datetime | None = None
    phase: str | None = None
    completion_time: datetime | None = None


class ScheduleLinks(_Response):
    """Where to go next for this schedule (paths on the gateway)."""

    self_: str = Field(alias="self")
    trigger: str
    backfill: str
    suspend: str
    resume: str
    runs: str = Field(description="Its runs among the tasks (a label selector).")


class Schedule(_Response):
    """A LongTaskSchedule as the gateway shows it: its spec in brief, its status, its runs."""

    namespace: str
    name: str
    uid: str
    schedule: str
    time_zone: str = _DEFAULT_TIME_ZONE
    suspend: bool = False
    concurrency_policy: str = _DEFAULT_CONCURRENCY
    missed_runs: str = _DEFAULT_MISSED_RUNS
    ready: bool | None = Field(None, description="Whether the operator starts its slots.")
    reason: str | None = Field(None, description="Why it is not ready (InvalidSchedule, …).")
    message: str | None = None
    created_at: datetime | None = None
    last_schedule_time: datetime | None = None
    next_schedule_time: datetime | None = None
    last_successful_time: datetime | None = None
    last_run: LastRun | None = None
    active_runs: int = 0
    consecutive_failures: int = 0
    conditions: list[Condition] = Field(default_factory=list)
    spec: dict[str, Any] = Field(default_factory=dict, description="The schedule's spec.")
    runs: list[ScheduleRun] = Field(
        default_factory=list, description="Its runs that exist (history limits), newest first."
    )
    links: ScheduleLinks


class ScheduleList(_Response):
    items: list[Schedule]
    continue_: str | None = Field(
        None, alias="continue", description="Pass as ?continue= to get the next page."
    )


class Backfill(_Request):
    """Body of `POST …/schedules/{name}/backfill`: the slots from `start` to `end`, both
    included, each run once (a slot whose run exists is left as it is)."""

    start: datetime = Field(description="RFC 3339 with an offset, e.g. 2026-03-01T00:00:00Z.")
    end: datetime = Field(description="Not in the future.")

    @model_validator(mode="after")
    def _ordered_and_zoned(self) -> Backfill:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a time zone offset (Z or +01:00)")
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class BackfillResult(_Response):
    slots: list[datetime] = Field(description="Every slot from start to end.")
    created: list[Task] = Field(description="Runs created now.")
    existing: list[str] = Field(description="Runs of these slots that existed already.")


class QueueLinks(_Response):
    """Where to go next for this queue (paths on the gateway)."""

    self_: str = Field(alias="self")
    suspend: str
    resume: str


class Queue(_Response):
    """A LongTaskQueue as the gateway shows it: its limits and its counts."""

    namespace: str
    name: str
    uid: str
    max_running: int | None = Field(None, description="Tasks with a live attempt at once.")
    concurrency_key: dict[str, str] | None = Field(
        None, description="Where a task's key comes from: `label` or `param`."
    )
    max_running_per_key: int | None = None
    rate_limit: dict[str, int] | None = Field(None, description="`starts` per `periodSeconds`.")
    suspend: bool = False
    running: int = Field(0, description="Tasks of the queue with a live attempt.")
    queued: int = Field(0, description="Tasks waiting for admission.")
    oldest_queued_time: datetime | None = Field(
        None, description="Since when the longest-waiting task waits."
    )
    created_at: datetime | None = None
    conditions: list[Condition] = Field(default_factory=list)
    links: QueueLinks


class QueueList(_Response):
    items: list[Queue]
    continue_: str | None = Field(
        None, alias="continue", description="Pass as ?continue= to get the next page."
    )


class Error(_Response):
    """Every error response: a short code, a sentence, and optional details (e.g. field errors)."""

    error: str
    message: str
    details: Any = None


class LongtaskError(Exception):
    """Base class of every error of longtask's API (the client raises no other kind)."""


class ApiError(LongtaskError):
    """An error response: status code, short error code, sentence and optional details.

    The gateway raises it to answer with it (as `Error`, plus `headers`); the client raises it,
    as the subclass of its status (`longtask.client.errors`), when the gateway answered one.
    """

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.error = error
        self.message = message
        self.details = details
        self.headers = headers


class Check(_Response):
    ok: bool
    error: str | None = None


class Readiness(_Response):
    ready: bool
    kubernetes: Check
    redis: Check


class Health(_Response):
    status: str = "ok"
