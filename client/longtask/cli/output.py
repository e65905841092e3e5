"""How the CLI shows things: JSON/YAML for scripts, tables and details for people.

Pure functions from models to strings or rows; `commands` decides where they go. Tables are
rich tables on a terminal and space-aligned plain text otherwise (like kubectl), so pipes and
`grep` get one line per task without colours or box characters.
"""

from __future__ import annotations

import enum
import json
import shlex
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import yaml
from longtask.core import wire
from pydantic import BaseModel
from rich.table import Table

TASK_COLUMNS: Final = ("NAME", "PHASE", "PROGRESS", "ATTEMPT", "MESSAGE", "AGE")
DEADLETTER_COLUMNS: Final = ("TIME", "NAMESPACE", "NAME", "ERROR")
HISTORY_COLUMNS: Final = ("FINISHED", "NAME", "PHASE", "ATTEMPTS", "DURATION", "MESSAGE", "UID")
ATTEMPT_COLUMNS: Final = ("ATTEMPT", "OUTCOME", "REASON", "EXIT", "MESSAGE")
# Messages are cut in tables (the full text is in `get` and -o json).
MESSAGE_WIDTH: Final = 60


class Format(enum.StrEnum):
    TEXT = "text"
    JSON = "json"
    YAML = "yaml"


def plain(value: BaseModel | Sequence[BaseModel]) -> Any:
    """JSON-ready data of a model or a list of models (camelCase, like the API)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return [item.model_dump(mode="json", by_alias=True) for item in value]


def dump(data: Any, fmt: Format) -> str:
    """`data` as JSON or YAML text (ends without a newline)."""
    if fmt is Format.YAML:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
    return json.dumps(data, indent=2, ensure_ascii=False)


def age(then: datetime | None, now: datetime | None = None) -> str:
    """A short age like kubectl's: 42s, 7m, 5h, 3d."""
    if then is None:
        return "-"
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "d" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def duration(seconds: float) -> str:
    """Elapsed time as 0:42, 12:03 or 1:02:03."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(progress: float | None) -> str:
    return "-" if progress is None else f"{progress:.0f}%"


def shorten(text: str | None, width: int = MESSAGE_WIDTH) -> str:
    one_line = " ".join((text or "").split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def task_row(task: wire.Task, now: datetime | None = None) -> tuple[str, ...]:
    return (
        task.name,
        str(task.phase),
        percent(task.progress),
        "-" if task.attempt is None else str(task.attempt),
        shorten(task.message) or "-",
        age(task.created_at, now),
    )


def deadletter_row(item: wire.DeadLetter) -> tuple[str, ...]:
    return (
        stream_time(item.id),
        item.namespace or "-",
        item.name or "-",
        shorten(item.error) or "-",
    )


def stream_time(entry_id: str) -> str:
    """The UTC time of a Redis stream id (`<ms>-<seq>`), or the id when it is not one."""
    ms = entry_id.partition("-")[0]
    if not ms.isdigit():
        return entry_id
    return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def plain_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns aligned with spaces, no trailing blanks."""
    table = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    lines = (
        "   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table
    )
    return "\n".join(line.rstrip() for line in lines)


def rich_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold" if header == "MESSAGE" else "ellipsis")
    for row in rows:
        table.add_row(*row)
    return table


def task_details(task: wire.Task) -> list[tuple[str, str]]:
    """The fields `get` shows, in reading order (unset ones left out)."""
    rows: list[tuple[str, str | None]] = [
        ("Name", task.name),
        ("Namespace", task.namespace),
        ("Phase", str(task.phase)),
        ("Progress", percent(task.progress) if task.progress is not None else None),
        ("Message", task.message),
        ("Reason", task.reason),
        ("Attempt", None if task.attempt is None else str(task.attempt)),
        ("Created", _time(task.created_at)),
        ("Started", _time(task.start_time)),
        ("Completed", _time(task.completion_time)),
        ("Next attempt", _time(task.next_attempt_time)),
        ("Cancel requested", "yes" if task.cancel_requested else None),
        ("Retry of", task.retry_of),
        ("Labels", ", ".join(f"{k}={v}" for k, v in task.labels.items()) or None),
        ("Task", _spec_target(task.spec)),
        ("Result", None if task.result is None else json.dumps(task.result)),
        ("Result ref", task.result_ref),
    ]
    return [(key, value) for key, value in rows if value]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _spec_target(spec: dict[str, Any]) -> str | None:
    if spec.get("task"):
        return str(spec["task"])
    command = spec.get("command")
    if isinstance(command, list):
        return shlex.join(str(word) for word in command)
    return None


def attempts_rows(attempts: Sequence[wire.AttemptStatus]) -> list[tuple[str, ...]]:
    return [
        (
            str(a.number or "-"),
            a.outcome or "-",
            a.reason or "-",
            "-" if a.exit_code is None else str(a.exit_code),
            shorten(a.message, 40) or "-",
        )
        for a in attempts
    ]


def history_row(task: wire.HistoryTask) -> tuple[str, ...]:
    return (
        _time(task.finished_at) or "-",
        task.name,
        str(task.phase),
        str(task.attempt),
        "-" if task.duration_seconds is None else duration(task.duration_seconds),
        shorten(task.message, 40) or "-",
        task.uid,
    )


def history_details(record: wire.HistoryRecord) -> list[tuple[str, str]]:
    """The fields `history UID` shows, in reading order (unset ones left out)."""
    rows: list[tuple[str, str | None]] = [
        ("Name", record.name),
        ("Namespace", record.namespace),
        ("UID", record.uid),
        ("Phase", str(record.phase)),
        ("Reason", record.reason),
        ("Message", record.message),
        ("Attempts", str(record.attempt)),
        ("Queue", record.queue),
        ("Schedule", record.schedule),
        ("Created", _time(record.created_at)),
        ("Started", _time(record.start_time)),
        ("Finished", _time(record.finished_at)),
        (
            "Duration",
            None if record.duration_seconds is None else duration(record.duration_seconds),
        ),
        ("Labels", ", ".join(f"{k}={v}" for k, v in record.labels.items()) or None),
        ("Task", _spec_target(record.spec)),
        ("Params digest", record.params_digest),
        ("Result", None if record.result is None else json.dumps(record.result)),
        ("Result ref", record.result_ref),
        (
            "Dead letter",
            None
            if record.dead_letter is None
            else f"{record.dead_letter.reason}: {shorten(record.dead_letter.error, 80)}",
        ),
    ]
    return [(key, value) for key, value in rows if value]


def log_tail_lines(record: wire.HistoryRecord) -> list[str]:
    return [f"[{'-' if x.attempt is None else x.attempt}] {x.line}" for x in record.log_tail]
