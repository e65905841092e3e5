"""Redis key names of longtask, one function per key, with its writer and lifetime.

Every key of a task is prefixed `longtask:{uid}:` (the LongTask's UID, unique across re-creations
with the same name). Keys of a finished task expire `FINISHED_TTL_SECONDS` after its end event.
"""

from __future__ import annotations

from typing import Final

PREFIX: Final = "longtask"

# How long a finished task's stream, state, logs, output and checkpoint stay in Redis after its end.
FINISHED_TTL_SECONDS: Final = 7 * 24 * 3600
# Approximate MAXLEN of a task's event stream and log stream (XADD MAXLEN ~).
EVENTS_MAXLEN: Final = 10_000
LOGS_MAXLEN: Final = 10_000
DEADLETTER_MAXLEN: Final = 100_000


def events(uid: str) -> str:
    """Stream of every event of a task, in order. Runner: progress/heartbeat/result/log markers;
    operator: status (phase changes) and end. Trimmed to EVENTS_MAXLEN, expires after the end."""
    return f"{PREFIX}:{uid}:events"


def state(uid: str) -> str:
    """Hash of the latest progress, message, phase, attempt and heartbeat time (unix ms)."""
    return f"{PREFIX}:{uid}:state"


def logs(uid: str) -> str:
    """Stream of the task's output lines (fields `line`, `attempt`): logs outlive pods."""
    return f"{PREFIX}:{uid}:logs"


def output(uid: str) -> str:
    """Stream of the task's output: its `output` and `retract` events (field `data`, as in the
    event stream). Runner only; never trimmed (the runner bounds it, see `outputs`): the
    complete output of the task, while the event stream may trim its copy. Expires after the
    end."""
    return f"{PREFIX}:{uid}:output"


def output_head(uid: str) -> str:
    """String: JSON `{"seq", "bytes"}`, how far the task's output got (written with each flush
    of chunks); the next attempt reads it to know what it withdraws."""
    return f"{PREFIX}:{uid}:outputhead"


def checkpoint(uid: str) -> str:
    """String: the task's last checkpoint and the output position it covers (`outputs`
    envelope); read by the next attempt."""
    return f"{PREFIX}:{uid}:checkpoint"


def result(uid: str) -> str:
    """String: JSON of a result too large for the status (status.resultRef names this key)."""
    return f"{PREFIX}:{uid}:result"


def queue_snapshots(namespace: str, name: str) -> str:
    """Stream of a LongTaskQueue's ordered snapshots (operator: at most one per change and
    second, see taskqueue.Snapshot), trimmed to QUEUE_SNAPSHOTS_MAXLEN, expiring
    QUEUE_SNAPSHOT_TTL_SECONDS after the last. The gateway derives each queued task's `queue`
    events from it."""
    return f"{PREFIX}:queue:{namespace}:{name}:snapshots"


QUEUE_SNAPSHOTS_MAXLEN: Final = 4
QUEUE_SNAPSHOT_TTL_SECONDS: Final = 24 * 3600

# Stream with one entry per dead-lettered task (see `deadletters`), trimmed, no expiry.
DEADLETTER: Final = f"{PREFIX}:deadletter"

# State hash fields.
STATE_PROGRESS: Final = "progress"
STATE_MESSAGE: Final = "message"
STATE_PHASE: Final = "phase"
STATE_ATTEMPT: Final = "attempt"
STATE_HEARTBEAT: Final = "heartbeat"
