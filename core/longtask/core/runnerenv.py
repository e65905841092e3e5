"""Environment variables the operator sets in each attempt's pod and the runner reads."""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "LONGTASK_NAMESPACE"
NAME: Final = "LONGTASK_NAME"
UID: Final = "LONGTASK_UID"
ATTEMPT: Final = "LONGTASK_ATTEMPT"
# Exactly one of TASK (Python callable "module:function") and COMMAND (JSON argv list).
TASK: Final = "LONGTASK_TASK"
COMMAND: Final = "LONGTASK_COMMAND"
PARAMS: Final = "LONGTASK_PARAMS"  # JSON object
REDIS_URL: Final = "LONGTASK_REDIS_URL"
# Limits the operator sets from its own settings (a task's env may not: they bound Redis).
EVENTS_MAXLEN: Final = "LONGTASK_EVENTS_MAXLEN"  # default keys.EVENTS_MAXLEN
LOGS_MAXLEN: Final = "LONGTASK_LOGS_MAXLEN"  # default keys.LOGS_MAXLEN
LOG_LINE_MAX_CHARS: Final = "LONGTASK_LOG_LINE_MAX_CHARS"  # default 8192
OUTPUT_CHUNK_MAX_BYTES: Final = "LONGTASK_OUTPUT_CHUNK_MAX_BYTES"  # default outputs.CHUNK_MAX_BYTES
OUTPUT_MAX_BYTES: Final = "LONGTASK_OUTPUT_MAX_BYTES"  # default outputs.OUTPUT_MAX_BYTES
OUTPUT_MAX_CHUNKS: Final = "LONGTASK_OUTPUT_MAX_CHUNKS"  # default outputs.OUTPUT_MAX_CHUNKS
# Optional tuning knobs.
STATUS_INTERVAL: Final = "LONGTASK_STATUS_INTERVAL_SECONDS"  # default 2.5
HEARTBEAT_INTERVAL: Final = "LONGTASK_HEARTBEAT_SECONDS"  # default 10
GRACE_SECONDS: Final = "LONGTASK_GRACE_SECONDS"  # time the task gets after SIGTERM
LOG_LEVEL: Final = "LONGTASK_LOG_LEVEL"  # the runner's own log level (default INFO)
