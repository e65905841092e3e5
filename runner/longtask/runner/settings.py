"""The runner's settings, read once from the environment the operator sets (`core.runnerenv`).

Only the task's identity and what to run are required; Redis and the Kubernetes status are
optional so that a task author can run `longtask-runner` on a laptop without either.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any, Final

from longtask.core import keys, outputs, resource, runnerenv
from longtask.runner import outbox
from longtask.runner.errors import SettingsError

DEFAULT_STATUS_INTERVAL: Final = 2.5
DEFAULT_HEARTBEAT_INTERVAL: Final = 10.0
DEFAULT_GRACE_SECONDS: Final = 20.0
DEFAULT_LOG_LINE_MAX_CHARS: Final = outbox.LOG_LINE_MAX_CHARS


@dataclasses.dataclass(frozen=True)
class Settings:
    """What to run and where to report it."""

    namespace: str | None
    """Namespace of the LongTask; with `name`, enables status patches."""
    name: str | None
    """Name of the LongTask."""
    uid: str | None
    """UID of the LongTask: the Redis keys' prefix and a precondition of every status patch."""
    attempt: int
    """This attempt's number, 1-based."""
    task: str | None
    """A Python callable `module:function`; exactly one of `task` and `command`."""
    command: tuple[str, ...] | None
    """An argv list run as a child process."""
    params: dict[str, Any]
    """The task's params (a JSON object)."""
    redis_url: str | None
    """Redis for events, state, logs and checkpoints; reporting to Redis is off when unset."""
    status_interval: float = DEFAULT_STATUS_INTERVAL
    """Least seconds between two status patches (the final patch excepted)."""
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    """Seconds between two heartbeats in Redis."""
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    """Seconds the task gets to stop after SIGTERM before the runner exits anyway."""
    events_maxlen: int = keys.EVENTS_MAXLEN
    """Approximate length the task's event stream is trimmed to (XADD MAXLEN ~)."""
    logs_maxlen: int = keys.LOGS_MAXLEN
    """Approximate length the task's log stream is trimmed to."""
    log_line_max_chars: int = DEFAULT_LOG_LINE_MAX_CHARS
    """Characters of an output line the log stream keeps; longer ones are cut and marked."""
    output_limits: outputs.Limits = dataclasses.field(default_factory=outputs.Limits)
    """Bounds of the task's output (`ctx.output`, `::output`): chunk size, total, chunks."""

    @property
    def reports_status(self) -> bool:
        return bool(self.namespace and self.name)

    @property
    def reports_redis(self) -> bool:
        return bool(self.redis_url and self.uid)


def from_environ(env: Mapping[str, str]) -> Settings:
    """Settings from an environment; raises SettingsError when it is incomplete or malformed."""
    task = env.get(runnerenv.TASK) or None
    command = _command(env.get(runnerenv.COMMAND))
    if (task is None) == (command is None):
        raise SettingsError(f"exactly one of {runnerenv.TASK} and {runnerenv.COMMAND} must be set")
    return Settings(
        namespace=env.get(runnerenv.NAMESPACE) or None,
        name=env.get(runnerenv.NAME) or None,
        uid=env.get(runnerenv.UID) or None,
        attempt=_attempt(env.get(runnerenv.ATTEMPT)),
        task=task,
        command=command,
        params=_params(env.get(runnerenv.PARAMS)),
        redis_url=env.get(runnerenv.REDIS_URL) or None,
        status_interval=_seconds(env, runnerenv.STATUS_INTERVAL, DEFAULT_STATUS_INTERVAL),
        heartbeat_interval=_seconds(env, runnerenv.HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_INTERVAL),
        grace_seconds=_seconds(env, runnerenv.GRACE_SECONDS, DEFAULT_GRACE_SECONDS),
        events_maxlen=_count(env, runnerenv.EVENTS_MAXLEN, keys.EVENTS_MAXLEN),
        logs_maxlen=_count(env, runnerenv.LOGS_MAXLEN, keys.LOGS_MAXLEN),
        log_line_max_chars=_count(env, runnerenv.LOG_LINE_MAX_CHARS, DEFAULT_LOG_LINE_MAX_CHARS),
        output_limits=outputs.Limits(
            chunk_max_bytes=_count(env, runnerenv.OUTPUT_CHUNK_MAX_BYTES, outputs.CHUNK_MAX_BYTES),
            output_max_bytes=_count(env, runnerenv.OUTPUT_MAX_BYTES, outputs.OUTPUT_MAX_BYTES),
            output_max_chunks=_count(env, runnerenv.OUTPUT_MAX_CHUNKS, outputs.OUTPUT_MAX_CHUNKS),
        ),
    )


def _command(raw: str | None) -> tuple[str, ...] | None:
    if not raw:
        return None
    try:
        argv = json.loads(raw)
    except ValueError as exc:
        raise SettingsError(f"{runnerenv.COMMAND} is not JSON: {exc}") from None
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
        raise SettingsError(f"{runnerenv.COMMAND} must be a non-empty JSON list of strings")
    return tuple(argv)


def _params(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    if len(raw.encode()) > resource.PARAMS_MAX_BYTES:
        raise SettingsError(f"{runnerenv.PARAMS} is larger than {resource.PARAMS_MAX_BYTES} bytes")
    try:
        params = json.loads(raw)
    except ValueError as exc:
        raise SettingsError(f"{runnerenv.PARAMS} is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise SettingsError(f"{runnerenv.PARAMS} must be a JSON object")
    return params


def _attempt(raw: str | None) -> int:
    if not raw:
        return 1
    try:
        attempt = int(raw)
    except ValueError:
        raise SettingsError(f"{runnerenv.ATTEMPT} is not an integer: {raw!r}") from None
    if attempt < 1:
        raise SettingsError(f"{runnerenv.ATTEMPT} must be at least 1")
    return attempt


def _seconds(env: Mapping[str, str], var: str, default: float) -> float:
    raw = env.get(var)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{var} is not a number: {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"{var} must be a finite number of seconds, at least 0")
    return value


def _count(env: Mapping[str, str], var: str, default: int) -> int:
    raw = env.get(var)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{var} is not an integer: {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{var} must be at least 1")
    return value
