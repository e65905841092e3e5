"""Operator configuration, read once from the environment.

Environment variables:
- `LONGTASK_REDIS_URL` (or `REDIS_URL`): Redis of the task streams; empty disables Redis (the
  status in Kubernetes stays the truth; SSE clients then rely on the gateway's watch fallback).
- `LONGTASK_RUNNER_REDIS_URL`: the Redis address attempt pods use (default: `LONGTASK_REDIS_URL`);
  with per-task users its credentials are replaced by the task's own.
- `LONGTASK_REDIS_TASK_USERS`: `true` (default) gives each task a Redis ACL user of its own that
  reaches only its keys (see `taskusers`); `false` hands every pod the runner URL as it is, for a
  Redis without ACLs (before 7.0), and logs a warning at start.
- `LONGTASK_REDIS_TASK_KEY`: secret key the task users' passwords are derived from (HMAC of the
  task's UID); needed with per-task users. Changing it affects tasks started afterwards.
- `LONGTASK_RUNNER_IMAGE`: default runner image (default `longtask/runner:0.1.0`).
- `LONGTASK_RUNNER_SERVICE_ACCOUNT`: default service account of attempt pods (`longtask-runner`).
- `LONGTASK_METRICS_PORT`: port of the Prometheus endpoint (default 8080; 0 disables it).
- `LONGTASK_METRICS_HOST`: address it listens on (default `0.0.0.0`).
- `LONGTASK_NAMESPACES`: comma-separated namespaces to serve (kopf globs like `team-*` allowed);
  empty serves all namespaces. With an exclusion (`!`), the whole value is one kopf pattern:
  `!kube-*,!test-*` serves every namespace but those.
- `LONGTASK_JOB_TTL_SECONDS`: `ttlSecondsAfterFinished` of attempt Jobs (default 3600).
- `LONGTASK_WORKERS`: concurrent reconcilers (default 32).
- `LONGTASK_STALL_SWEEP_SECONDS`: how often heartbeats of running tasks are read (default 5).
- `LONGTASK_QUEUE_SYNC_SECONDS`: at most how often a changed LongTaskQueue's status and Redis
  snapshot are written and its waiting tasks looked at (default 1).
- `LONGTASK_KUEUE_QUEUE`: the Kueue LocalQueue every attempt's Job is created for, suspended
  and labelled `kueue.x-k8s.io/queue-name` (Kueue unsuspends it when it admits it); a task's own
  label of that name wins. Empty (default): Jobs start at once, unless a task has the label.
- `LONGTASK_LIVENESS_PORT`: port of kopf's liveness endpoint `/healthz` (default: none).
- `LONGTASK_EVENTS_MAXLEN`, `LONGTASK_LOGS_MAXLEN`: approximate length a task's event and log
  streams are trimmed to (default 10,000 each), by the operator and by every runner (the
  operator passes them on); a reader that resumes past what is kept gets a `gap`.
- `LONGTASK_LOG_LINE_MAX_CHARS`: characters of an output line a log stream keeps (default
  8,192); longer lines are cut and marked as cut.
- `LONGTASK_OUTPUT_CHUNK_MAX_BYTES`, `LONGTASK_OUTPUT_MAX_BYTES`, `LONGTASK_OUTPUT_MAX_CHUNKS`:
  bounds of a task's output (defaults 64 KiB per chunk, 16 MiB and 100,000 chunks per task),
  passed on to every runner, which refuses a chunk past them with an error.
- `LONGTASK_HISTORY_*`: the task history (database, params kept or digested, log lines, retention,
  migrations at start); see `longtask.history.settings`. Without `LONGTASK_HISTORY_DSN` nothing
  is archived and TTL deletions do not wait for it.
- `LONGTASK_SCHEDULE_SECONDS`: `true` lets LongTaskSchedules use a leading seconds field, so
  that tests run real schedules in seconds. For tests only: otherwise such a schedule is refused
  (condition Ready=False, reason SecondsNotEnabled) and production cron stays minute-based.
- `LONGTASK_NAMESPACE_SELECTOR`: a label selector as JSON (`{"matchLabels": {...},
  "matchExpressions": [...]}`) choosing the served namespaces where tasks may run; empty: all.
  The operator provisions the runner's account there and refuses tasks elsewhere.
- `LONGTASK_RUNNER_CLUSTER_ROLE`: the ClusterRole the runner's account is bound to in each
  enabled namespace (default `longtask-runner`).
- `LONGTASK_LEADER_ELECTION` (default true), `LONGTASK_LEASE_NAME`, `LONGTASK_LEASE_NAMESPACE`,
  `LONGTASK_LEASE_IDENTITY`, `LONGTASK_LEASE_DURATION_SECONDS` (15),
  `LONGTASK_LEASE_RENEW_DEADLINE_SECONDS` (10), `LONGTASK_LEASE_RETRY_PERIOD_SECONDS` (2): the
  election of the one replica that writes (see leadership.py).
- `LONGTASK_ALLOWED_IMAGES`: comma-separated glob patterns of the images a task may name
  (`registry.example.com/team/*`; full references, see `longtask.core.admission`); empty: the
  runner image's registry path (`ghcr.io/longtask/*`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from kopf._cogs.structs import references
from longtask.core import admission, keys, outputs
from longtask.history import settings as history_settings

from . import leadership

DEFAULT_RUNNER_IMAGE = admission.DEFAULT_RUNNER_IMAGE
DEFAULT_RUNNER_SERVICE_ACCOUNT = admission.DEFAULT_RUNNER_SERVICE_ACCOUNT
DEFAULT_RUNNER_CLUSTER_ROLE = "longtask-runner"
DEFAULT_LOG_LINE_MAX_CHARS = 8192


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the operator is configured with; every field has a safe default."""

    redis_url: str = ""
    """Redis of the task streams, state hashes and the dead-letter stream ("" = no Redis)."""
    runner_redis_url: str = ""
    """Redis URL of attempt pods (with per-task users: the address; credentials are the task's)."""
    redis_task_users: bool = True
    """Give each task a Redis ACL user reaching only its own keys."""
    redis_task_key: str = dataclasses.field(default="", repr=False)
    """Key of the task users' passwords (HMAC of the task's UID)."""
    runner_image: str = DEFAULT_RUNNER_IMAGE
    """Image of attempt pods when the LongTask names none."""
    runner_service_account: str = DEFAULT_RUNNER_SERVICE_ACCOUNT
    """Service account of attempt pods when the LongTask names none."""
    metrics_host: str = "0.0.0.0"  # scraped from other pods
    """Address of the metrics endpoint."""
    metrics_port: int = 8080
    """Port of the metrics endpoint; 0 disables it."""
    namespaces: tuple[str, ...] = ()
    """Namespaces served; empty means all namespaces."""
    job_ttl_seconds: int = 3600
    """How long a finished attempt's Job (and its pod log) stays before Kubernetes deletes it."""
    workers: int = 32
    """Reconcilers running at once (different tasks; one task is never reconciled twice at once)."""
    stall_sweep_seconds: float = 5.0
    """Interval of the heartbeat sweep over running tasks."""
    queue_sync_seconds: float = 1.0
    """Least interval between two rounds of a queue's status and snapshot writes."""
    kueue_queue: str = ""
    """Kueue LocalQueue of every attempt's Job (created suspended); "" = none (see kueue.py)."""
    termination_grace_seconds: int = 30
    """Grace period of attempt pods between SIGTERM and SIGKILL."""
    liveness_port: int | None = None
    """Port of kopf's liveness endpoint, when set."""
    events_maxlen: int = keys.EVENTS_MAXLEN
    """Approximate length of a task's event stream (operator and runners trim to it)."""
    logs_maxlen: int = keys.LOGS_MAXLEN
    """Approximate length of a task's log stream (runners trim to it)."""
    log_line_max_chars: int = DEFAULT_LOG_LINE_MAX_CHARS
    """Characters of an output line the log stream keeps (runners cut and mark longer ones)."""
    output_limits: outputs.Limits = dataclasses.field(default_factory=outputs.Limits)
    """Bounds of a task's output (runners refuse chunks past them)."""
    history: history_settings.Settings = dataclasses.field(
        default_factory=history_settings.Settings
    )
    """The archive of finished tasks (off without a DSN)."""
    schedule_seconds: bool = False
    """Accept schedules with a leading seconds field (tests only)."""
    namespace_selector: Mapping[str, Any] | None = None
    """Label selector (a LabelSelector as a dict) of the namespaces where tasks may run; None:
    every served namespace."""
    runner_cluster_role: str = DEFAULT_RUNNER_CLUSTER_ROLE
    """ClusterRole bound to the runner's account in each namespace where tasks may run."""
    allowed_images: tuple[str, ...] = ()
    """Glob patterns of the images a task may name; empty: the runner image's registry path."""
    lease: leadership.LeaseSettings = dataclasses.field(default_factory=leadership.LeaseSettings)
    """The election of the replica that writes."""

    @property
    def image_patterns(self) -> tuple[str, ...]:
        """The images tasks may name (see `allowed_images`)."""
        return self.allowed_images or admission.default_image_patterns(self.runner_image)

    def serves(self, namespace: str) -> bool:
        """Whether `namespace` is one the operator serves (kopf's patterns of `namespaces`)."""
        return not self.namespaces or any(
            references.match_namespace(references.NamespaceName(namespace), pattern)
            for pattern in self.namespaces
        )

    @property
    def task_users(self) -> bool:
        """Whether tasks get Redis users of their own (Redis in use and the setting on)."""
        return bool(self.redis_url and self.redis_task_users)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def lists_across_all(namespaces: Sequence[str]) -> bool:
    """Whether objects of the served namespaces are listed across all namespaces (none named,
    or any pattern or exclusion among them) rather than one served namespace at a time."""
    return not namespaces or any(set(ns) & set("*?[!") for ns in namespaces)


def parse_namespaces(raw: str) -> tuple[str, ...]:
    """Kopf namespace patterns: one per name, or the whole value when it excludes some (`!`)."""
    parts = tuple(ns.strip() for ns in raw.split(",") if ns.strip())
    if any(part.startswith("!") for part in parts):
        return (",".join(parts),)  # kopf reads exclusions within one pattern, left to right
    return parts


def parse_selector(raw: str) -> Mapping[str, Any] | None:
    """A label selector from its JSON (None when empty); ValueError when malformed."""
    if not raw.strip():
        return None
    try:
        selector = json.loads(raw)
    except ValueError:
        selector = None
    keys = {"matchLabels", "matchExpressions"}
    if not isinstance(selector, dict) or not set(selector) <= keys:
        raise ValueError(
            "LONGTASK_NAMESPACE_SELECTOR must be a label selector as JSON: "
            f'{{"matchLabels": {{...}}, "matchExpressions": [...]}}, got {raw[:200]!r}'
        )
    return selector or None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from environment variables (see the module docstring)."""
    env = os.environ if env is None else env
    redis_url = env.get("LONGTASK_REDIS_URL") or env.get("REDIS_URL") or ""
    namespaces = parse_namespaces(env.get("LONGTASK_NAMESPACES", ""))
    liveness = env.get("LONGTASK_LIVENESS_PORT", "").strip()
    sweep = env.get("LONGTASK_STALL_SWEEP_SECONDS", "").strip()
    return Settings(
        redis_url=redis_url,
        runner_redis_url=env.get("LONGTASK_RUNNER_REDIS_URL") or redis_url,
        redis_task_users=_bool(env, "LONGTASK_REDIS_TASK_USERS", True),
        redis_task_key=env.get("LONGTASK_REDIS_TASK_KEY", ""),
        runner_image=env.get("LONGTASK_RUNNER_IMAGE") or DEFAULT_RUNNER_IMAGE,
        runner_service_account=env.get("LONGTASK_RUNNER_SERVICE_ACCOUNT")
        or DEFAULT_RUNNER_SERVICE_ACCOUNT,
        metrics_host=env.get("LONGTASK_METRICS_HOST") or "0.0.0.0",
        metrics_port=_int(env, "LONGTASK_METRICS_PORT", 8080),
        namespaces=namespaces,
        job_ttl_seconds=_int(env, "LONGTASK_JOB_TTL_SECONDS", 3600),
        workers=max(1, _int(env, "LONGTASK_WORKERS", 32)),
        stall_sweep_seconds=float(sweep) if sweep else 5.0,
        queue_sync_seconds=float(env.get("LONGTASK_QUEUE_SYNC_SECONDS") or 1.0),
        kueue_queue=env.get("LONGTASK_KUEUE_QUEUE", "").strip(),
        liveness_port=int(liveness) if liveness else None,
        events_maxlen=max(1, _int(env, "LONGTASK_EVENTS_MAXLEN", keys.EVENTS_MAXLEN)),
        logs_maxlen=max(1, _int(env, "LONGTASK_LOGS_MAXLEN", keys.LOGS_MAXLEN)),
        log_line_max_chars=max(
            1, _int(env, "LONGTASK_LOG_LINE_MAX_CHARS", DEFAULT_LOG_LINE_MAX_CHARS)
        ),
        output_limits=outputs.Limits(
            chunk_max_bytes=max(
                1, _int(env, "LONGTASK_OUTPUT_CHUNK_MAX_BYTES", outputs.CHUNK_MAX_BYTES)
            ),
            output_max_bytes=max(
                1, _int(env, "LONGTASK_OUTPUT_MAX_BYTES", outputs.OUTPUT_MAX_BYTES)
            ),
            output_max_chunks=max(
                1, _int(env, "LONGTASK_OUTPUT_MAX_CHUNKS", outputs.OUTPUT_MAX_CHUNKS)
            ),
        ),
        history=history_settings.from_env(env),
        schedule_seconds=_bool(env, "LONGTASK_SCHEDULE_SECONDS", False),
        namespace_selector=parse_selector(env.get("LONGTASK_NAMESPACE_SELECTOR", "")),
        runner_cluster_role=env.get("LONGTASK_RUNNER_CLUSTER_ROLE") or DEFAULT_RUNNER_CLUSTER_ROLE,
        allowed_images=tuple(
            p.strip() for p in env.get("LONGTASK_ALLOWED_IMAGES", "").split(",") if p.strip()
        ),
        lease=leadership.settings_from_env(env),
    )
