"""The LongTaskQueue custom resource: names, conditions, labels and the shape of the object
(`LongTaskQueue`, `QueueSpec`, `QueueStatus`), and a task's concurrency key.

A queue holds application limits — how many of its tasks have a live attempt at once
(`maxRunning`), how many per concurrency key (`maxRunningPerKey`), how many attempts start per
period (`rateLimit`) — and can be suspended. A task names its queue in `spec.queue`; a task that
names none, or a queue that does not exist, starts at once. The operator admits tasks
(operator/…/queueing.py); the reasons a task waits are `resource.Reason` values, since they are
the task's condition reasons.

As in `resource`, the shapes are TypedDicts over the JSON the API server sends; the CRD in
`deploy/crds/` declares every field typed here and a unit test keeps the two equal.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from typing import Final, NotRequired, TypedDict

from longtask.core import resource

GROUP: Final = resource.GROUP
VERSION: Final = resource.VERSION
API_VERSION: Final = resource.API_VERSION
KIND: Final = "LongTaskQueue"
PLURAL: Final = "longtaskqueues"
SINGULAR: Final = "longtaskqueue"
SHORT_NAME: Final = "ltq"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"

MAX_RUNNING_LIMIT: Final = 100_000
RATE_PERIOD_MAX_SECONDS: Final = 86_400

# Labels on each Job of a queued task: the limits are counted from the Jobs (they hold across
# operator restarts), so a Job says which queue and which key it counts against.
LABEL_QUEUE: Final = f"{GROUP}/queue"
LABEL_QUEUE_KEY: Final = f"{GROUP}/queue-key"

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class ConditionType(enum.StrEnum):
    """status.conditions[].type of a queue."""

    # True while spec.suspend is set: no task of the queue starts; running ones finish.
    SUSPENDED = "Suspended"


class Reason(enum.StrEnum):
    """CamelCase reasons of a queue's conditions."""

    # Suspended=True: spec.suspend is set.
    SUSPENDED = "Suspended"
    # Suspended=False: the queue admits tasks.
    ACTIVE = "Active"


# The object's shape --------------------------------------------------------------------------


class ConcurrencyKey(TypedDict, total=False):
    """`spec.concurrencyKey`: where a task's key comes from; exactly one of the two."""

    label: str
    """The value of this label of the LongTask."""
    param: str
    """The value of this top-level field of the task's params (JSON text when not a string)."""


class RateLimit(TypedDict):
    """`spec.rateLimit`: at most `starts` attempt starts in any `periodSeconds` window."""

    starts: int
    periodSeconds: int


class QueueSpec(TypedDict, total=False):
    """`spec`: the queue's limits (none set: every task is admitted at once, in order)."""

    maxRunning: int
    """Tasks of this queue with a live attempt (a Job not finished) at once."""
    concurrencyKey: ConcurrencyKey
    maxRunningPerKey: int
    """Tasks of one key with a live attempt at once (needs concurrencyKey)."""
    rateLimit: RateLimit
    suspend: bool
    """No task of the queue starts while set; running ones finish."""


class QueueStatus(TypedDict, total=False):
    """`status`, written by the operator. In a merge patch, None deletes a field."""

    running: int
    """Tasks of the queue with a live attempt."""
    queued: int
    """Tasks waiting for admission."""
    oldestQueuedTime: str | None
    """RFC 3339: since when the longest-waiting task waits (None: nothing waits)."""
    conditions: list[resource.Condition]
    observedGeneration: int


class LongTaskQueue(TypedDict):
    """A LongTaskQueue object."""

    apiVersion: str
    kind: str
    metadata: resource.ObjectMeta
    spec: QueueSpec
    status: NotRequired[QueueStatus]


# Snapshots -----------------------------------------------------------------------------------


class Snapshot(TypedDict):
    """One ordered snapshot of a queue, the `data` of an entry of `keys.queue_snapshots`: the
    operator writes one per change (at most one a second); the gateway tells each follower of
    a queued task its place from it, so one start costs one write whatever the queue's length."""

    ts: int
    """Unix ms when the operator computed it."""
    namespace: str
    queue: str
    running: int
    maxRunning: NotRequired[int]
    suspended: bool
    waiting: list[list[str | int | None]]
    """[uid, reason, eta unix ms or None] of every waiting task, in admission order."""


def encode_snapshot(snapshot: Snapshot) -> dict[str, str]:
    return {"data": json.dumps(snapshot, separators=(",", ":"))}


# Keys ----------------------------------------------------------------------------------------


def task_key(task: resource.LongTask, spec: QueueSpec) -> str | None:
    """The task's concurrency key under the queue's spec; None when the queue has no key.
    A task without the label or param has the key "" (they share one key)."""
    source = spec.get("concurrencyKey")
    if not source:
        return None
    if "label" in source:
        return (task["metadata"].get("labels") or {}).get(source["label"], "")
    value = (task["spec"].get("params") or {}).get(source.get("param", ""))
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def key_label(key: str) -> str:
    """A key as the value of the queue-key label: itself when it is a valid label value, else a
    hash of it (a long or free-form params value)."""
    if len(key) <= 63 and _LABEL_VALUE.match(key):
        return key
    return "h" + hashlib.sha256(key.encode()).hexdigest()[:32]
