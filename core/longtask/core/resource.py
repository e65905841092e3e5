"""The LongTask custom resource: names, phases, conditions, labels, exit codes, limits, and the
shape of the object (`LongTask`, `Spec`, `Status`, `AttemptRecord`, `Condition`).

The shapes are TypedDicts over the JSON the API server sends, so the operator works on the dicts
it receives while mypy checks every field name and value it reads or writes. The CRD in
`deploy/crds/` declares every field typed here, and a unit test keeps the two equal: a status
field written without being declared there would be pruned silently by the API server.
"""

from __future__ import annotations

import enum
from typing import Any, Final, NotRequired, TypedDict

GROUP: Final = "longtask.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "LongTask"
PLURAL: Final = "longtasks"
SINGULAR: Final = "longtask"
SHORT_NAME: Final = "lt"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"

# Size limits (bytes of compact JSON). Params larger than this are refused at admission; results
# larger than RESULT_MAX_BYTES live in Redis and status.resultRef points to them.
PARAMS_MAX_BYTES: Final = 64 * 1024
RESULT_MAX_BYTES: Final = 16 * 1024
MESSAGE_MAX_CHARS: Final = 1024

# Defaults of spec fields the schema leaves optional.
DEFAULT_MAX_ATTEMPTS: Final = 3
MAX_ATTEMPTS_LIMIT: Final = 100
DEFAULT_BACKOFF_INITIAL_SECONDS: Final = 10.0
DEFAULT_BACKOFF_FACTOR: Final = 2.0
DEFAULT_BACKOFF_MAX_SECONDS: Final = 600.0
DEFAULT_STALL_SECONDS: Final = 120

# The status fields a task's runner writes; the rest of the status is the operator's. The
# admission policy in deploy/admission/ lets a task's pod change these fields only.
RUNNER_STATUS_FIELDS: Final = frozenset({"progress", "message", "result", "resultRef"})


class Phase(enum.StrEnum):
    """status.phase: (Queued →) Pending → Running → Succeeded/Failed/Cancelled; Retrying between
    attempts. Queued: waiting for its LongTaskQueue to admit it (condition Admitted=False)."""

    QUEUED = "Queued"
    PENDING = "Pending"
    RUNNING = "Running"
    RETRYING = "Retrying"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_PHASES


FINAL_PHASES: Final = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED})


class ConditionType(enum.StrEnum):
    """status.conditions[].type: a list keyed by type, each True/False/Unknown."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    DEAD_LETTERED = "DeadLettered"
    STALLED = "Stalled"
    # False while the task waits for its queue (the reason says why); True once admitted.
    ADMITTED = "Admitted"


class Reason(enum.StrEnum):
    """CamelCase reasons for conditions, attempts and Kubernetes Events."""

    # Admission refused the task: what the schema cannot check (size of params, missing account).
    INVALID_SPEC = "InvalidSpec"
    # The Job of an attempt was created and waits for its pod.
    JOB_CREATED = "JobCreated"
    # The attempt's pod runs.
    POD_RUNNING = "PodRunning"
    # The attempt's runner exited 0.
    COMPLETED = "Completed"
    # The runner exited with a retryable failure (exit code 1 or any unknown code).
    ATTEMPT_FAILED = "AttemptFailed"
    # The runner exited with the non-retryable code (3): bad params or PermanentError.
    PERMANENT_FAILURE = "PermanentFailure"
    # The attempt ran past spec.timeoutSeconds (the Job's activeDeadlineSeconds).
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    # The attempt's pod disappeared or was evicted before the runner finished.
    POD_LOST = "PodLost"
    # Another attempt is scheduled after the backoff delay.
    BACKOFF = "Backoff"
    # Every attempt failed: the task is dead-lettered.
    ATTEMPTS_EXHAUSTED = "AttemptsExhausted"
    # spec.cancel was set.
    CANCEL_REQUESTED = "CancelRequested"
    # No heartbeat in Redis for stallSeconds while Running.
    NO_HEARTBEAT = "NoHeartbeat"
    # Heartbeats came back after a stall.
    HEARTBEAT_RESUMED = "HeartbeatResumed"
    # The recorded phase said the current attempt had ended, its Job said otherwise (a status
    # written by someone else): the operator put the status back to what the Job says.
    STATUS_REPAIRED = "StatusRepaired"
    # Admitted=True: the task's queue admitted it (an attempt starts).
    ADMITTED = "Admitted"
    # Admitted=False: the queue has maxRunning tasks with a live attempt.
    QUEUE_FULL = "QueueFull"
    # Admitted=False: the task's concurrency key has maxRunningPerKey tasks with a live attempt.
    KEY_LIMIT = "KeyLimit"
    # Admitted=False: the queue's rateLimit allows no other start in the current window.
    RATE_LIMITED = "RateLimited"
    # Admitted=False: the queue is suspended.
    QUEUE_SUSPENDED = "QueueSuspended"
    # Admitted=False, phase Pending: the attempt's Job waits, suspended, for Kueue to admit it.
    WAITING_FOR_KUEUE = "WaitingForKueue"
    # Admitted=True: Kueue admitted the attempt's Job (unsuspended it).
    KUEUE_ADMITTED = "KueueAdmitted"
    # Kueue preempted the attempt (suspended its Job): the next attempt starts at once and
    # waits for Kueue again; a preempted attempt does not count against retry.maxAttempts.
    PREEMPTED = "Preempted"


class AttemptOutcome(enum.StrEnum):
    """status.attempts[].outcome."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


# Labels the operator puts on each Job and its pod.
LABEL_NAME: Final = f"{GROUP}/name"
LABEL_UID: Final = f"{GROUP}/uid"
LABEL_ATTEMPT: Final = f"{GROUP}/attempt"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "longtask-operator"
# The mark of a service account that tasks may run as (value "true"): set on the runner account
# the operator provisions, and by a namespace's admins on an account of their own.
LABEL_RUNNER: Final = f"{GROUP}/runner"
RUNNER_MARK: Final = "true"
# Label on a LongTask that a LongTaskSchedule created: the schedule's name (history filters on it).
LABEL_SCHEDULE: Final = f"{GROUP}/schedule"
# Annotation on a task created by the gateway's retry: the task it re-runs.
ANNOTATION_RETRY_OF: Final = f"{GROUP}/retry-of"
# Annotation carrying the Idempotency-Key hash of the request that created the task.
ANNOTATION_IDEMPOTENCY: Final = f"{GROUP}/idempotency-key"
# Label with the (truncated) Idempotency-Key hash, so the gateway finds the task by selector.
LABEL_IDEMPOTENCY: Final = f"{GROUP}/idempotency-key"
# Annotation with the hash of the request body that created the task (same key, other body: 409).
ANNOTATION_REQUEST_HASH: Final = f"{GROUP}/request-hash"


class ExitCode(enum.IntEnum):
    """Runner exit codes (contract between runner and operator)."""

    SUCCESS = 0
    RETRYABLE = 1
    PERMANENT = 3
    TERMINATED = 143  # SIGTERM: cancelled or deadline


# The object's shape --------------------------------------------------------------------------


class OwnerReference(TypedDict):
    """An entry of `metadata.ownerReferences`."""

    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: NotRequired[bool]
    blockOwnerDeletion: NotRequired[bool]


class ObjectMeta(TypedDict, total=False):
    """The part of `metadata` longtask reads."""

    name: str
    generateName: str
    namespace: str
    uid: str
    generation: int
    resourceVersion: str
    creationTimestamp: str
    deletionTimestamp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReference]


class EnvVar(TypedDict):
    """An entry of `spec.env` (a Kubernetes EnvVar; fields other than these are kept as given)."""

    name: str
    value: NotRequired[str]


class Resources(TypedDict, total=False):
    """`spec.resources`: quantities by resource name (`cpu: 500m`, `memory: 1Gi`)."""

    requests: dict[str, str | int]
    limits: dict[str, str | int]


class Backoff(TypedDict, total=False):
    """`spec.retry.backoff`: initialSeconds x factor^(n-1), capped at maxSeconds, maybe jittered."""

    initialSeconds: float
    factor: float
    maxSeconds: float
    jitter: bool


class Retry(TypedDict, total=False):
    """`spec.retry`."""

    maxAttempts: int
    backoff: Backoff


class Spec(TypedDict, total=False):
    """`spec`: what to run and how (desired state). Exactly one of `task` and `command`."""

    task: str
    command: list[str]
    params: dict[str, Any]
    image: str
    env: list[EnvVar]
    resources: Resources
    serviceAccountName: str
    timeoutSeconds: int
    stallSeconds: int
    retry: Retry
    priority: int
    queue: str
    ttlSecondsAfterFinished: int
    cancel: bool


class AttemptRecord(TypedDict, total=False):
    """An entry of `status.attempts`, one per attempt, in order."""

    number: int
    jobName: str
    start: str
    """RFC 3339: when the attempt's Job was created."""
    finish: str
    outcome: str
    """An AttemptOutcome value."""
    reason: str
    """A Reason value: why the attempt ended as it did."""
    message: str
    exitCode: int


class Condition(TypedDict):
    """An entry of `status.conditions` (a list keyed by `type`)."""

    type: str
    """A ConditionType value."""
    status: str
    """"True", "False" or "Unknown"."""
    reason: NotRequired[str]
    message: NotRequired[str]
    lastTransitionTime: NotRequired[str]
    observedGeneration: NotRequired[int]


class Status(TypedDict, total=False):
    """`status`: what happened (observed state). The runner writes `progress`, `message`,
    `result` and `resultRef`; the operator the rest. In a merge patch, None deletes a field."""

    phase: str
    """A Phase value."""
    progress: float
    message: str | None
    """The task's own latest message (the operator's explanation of a timeout)."""
    attempt: int
    jobName: str
    startTime: str
    completionTime: str | None
    nextAttemptTime: str | None
    reason: str
    """A Reason value: why the latest phase change happened."""
    attempts: list[AttemptRecord]
    result: Any
    resultRef: str | None
    conditions: list[Condition]
    observedGeneration: int | None
    queuePosition: int | None
    """1-based place in the task's queue while Queued, refreshed coarsely (docs/queues.md)."""


class LongTask(TypedDict):
    """A LongTask object."""

    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: Spec
    status: NotRequired[Status]


def phase_of(status: Status) -> Phase | None:
    """The recorded phase; None for a new task (or a phase this version does not know)."""
    raw = status.get("phase")
    try:
        return Phase(raw) if raw else None
    except ValueError:
        return None
