"""History settings, read from the environment by the operator, the gateway and the command.

Environment variables:
- `LONGTASK_HISTORY_DSN`: the database (`postgresql://user:password@host/db` or
  `sqlite:////path/history.db`); empty disables the history (and the TTL gate on it).
- `LONGTASK_HISTORY_PARAMS`: `full` keeps each task's params in its record; `digest` keeps only
  their SHA-256 (`sha256:<hex>`), for params that must not outlive the task. Default `full`.
- `LONGTASK_HISTORY_LOG_LINES`: lines of the log tail kept per task (default 200; 0: none).
- `LONGTASK_HISTORY_OUTPUT_BYTES`: bytes of the start of a task's output kept per task (default
  65536; 0: none); a longer output is kept cut, marked as such, with its full size.
- `LONGTASK_HISTORY_RETENTION_DAYS`: records older than this are pruned (default 90; 0 keeps
  every record).
- `LONGTASK_HISTORY_MIGRATE`: whether the operator upgrades the schema when it starts (default
  true); with false, run `longtask-history migrate` before starting it.
- `LONGTASK_HISTORY_PRUNE_INTERVAL_SECONDS` (3600), `LONGTASK_HISTORY_PRUNE_BATCH` (1000): how
  often the operator prunes, and how many records one delete statement removes.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Mapping


class ParamsMode(enum.StrEnum):
    """What a record keeps of the task's params."""

    FULL = "full"
    DIGEST = "digest"


@dataclasses.dataclass(frozen=True)
class Settings:
    dsn: str = ""
    """The database's URL; empty: no history."""
    params: ParamsMode = ParamsMode.FULL
    """Params kept in full, or only their digest."""
    log_lines: int = 200
    """Lines of each task's log kept with its record."""
    output_bytes: int = 64 * 1024
    """Bytes of the start of each task's output kept with its record."""
    retention_days: float = 90.0
    """Age (by finish time) after which records are pruned; 0 keeps them all."""
    migrate: bool = True
    """Upgrade the schema when the operator starts."""
    prune_interval_seconds: float = 3600.0
    """How often the operator prunes expired records."""
    prune_batch: int = 1000
    """Records deleted per statement while pruning (short transactions, no long locks)."""

    @property
    def enabled(self) -> bool:
        return bool(self.dsn)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw!r}")
    return value


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from LONGTASK_HISTORY_* variables (see the module docstring)."""
    env = os.environ if env is None else env
    raw_mode = env.get("LONGTASK_HISTORY_PARAMS", "").strip() or ParamsMode.FULL.value
    try:
        mode = ParamsMode(raw_mode)
    except ValueError:
        raise ValueError(
            f"LONGTASK_HISTORY_PARAMS must be full or digest, got {raw_mode!r}"
        ) from None
    migrate = env.get("LONGTASK_HISTORY_MIGRATE", "").strip().lower()
    return Settings(
        dsn=env.get("LONGTASK_HISTORY_DSN", "").strip(),
        params=mode,
        log_lines=int(_number(env, "LONGTASK_HISTORY_LOG_LINES", 200)),
        output_bytes=int(_number(env, "LONGTASK_HISTORY_OUTPUT_BYTES", 64 * 1024)),
        retention_days=_number(env, "LONGTASK_HISTORY_RETENTION_DAYS", 90.0),
        migrate=migrate not in ("0", "false", "no", "off"),
        prune_interval_seconds=_number(env, "LONGTASK_HISTORY_PRUNE_INTERVAL_SECONDS", 3600.0)
        or 3600.0,
        prune_batch=max(1, int(_number(env, "LONGTASK_HISTORY_PRUNE_BATCH", 1000))),
    )
