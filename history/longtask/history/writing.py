"""Writing records: once per task, idempotent by UID, one transaction per batch.

`write` inserts the task rows with ON CONFLICT (uid) DO NOTHING and RETURNING: only the tasks it
really inserted come back, and only theirs get attempt, label and log rows, in the same
transaction. So a batch written twice (a retry after a lost reply, an operator restarted before
it learnt of its commit, a second writer) leaves exactly one copy of each task. On PostgreSQL a
concurrent insert of the same UID waits for the first transaction and then does nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import schema
from .records import Record

# UIDs per IN (...) of a lookup: well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK: Final = 500


def _insert(dialect: str, table: sa.Table) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def task_row(record: Record, archived_at: dt.datetime) -> dict[str, Any]:
    """The `longtask_history` row of a record."""
    dead = record.dead_letter
    return {
        "uid": record.uid,
        "namespace": record.namespace,
        "name": record.name,
        "phase": record.phase,
        "reason": record.reason,
        "message": record.message,
        "progress": record.progress,
        "attempt": record.attempt,
        "queue": record.queue,
        "schedule": record.schedule,
        "labels": dict(record.labels),
        "spec": dict(record.spec),
        "params_digest": record.params_digest,
        "result": record.result,
        "result_ref": record.result_ref,
        "dead_letter": None
        if dead is None
        else {
            "attempts": dead.attempts,
            "reason": dead.reason,
            "error": dead.error,
            "at": dead.at.isoformat() if dead.at else None,
        },
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "archived_at": archived_at,
    }


async def write(
    engine: AsyncEngine, records: Sequence[Record], now: dt.datetime | None = None
) -> list[str]:
    """Insert the records not in the history yet; the UIDs this call inserted."""
    if not records:
        return []
    unique = list({r.uid: r for r in records}.values())
    archived_at = now or dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        dialect = conn.dialect.name
        # One statement, many parameter sets: SQLAlchemy sends them as multi-row VALUES
        # ("insertmanyvalues") from one cached compilation, RETURNING only the inserted rows.
        statement = (
            _insert(dialect, schema.tasks)
            .on_conflict_do_nothing(index_elements=[schema.tasks.c.uid])
            .returning(schema.tasks.c.id, schema.tasks.c.uid)
        )
        rows = [task_row(r, archived_at) for r in unique]
        inserted = {uid: task_id for task_id, uid in (await conn.execute(statement, rows)).all()}
        await _children(conn, [r for r in unique if r.uid in inserted], inserted)
    return [r.uid for r in unique if r.uid in inserted]


async def _children(conn: AsyncConnection, records: Iterable[Record], ids: dict[str, int]) -> None:
    attempt_rows: list[dict[str, Any]] = []
    label_rows: list[dict[str, Any]] = []
    log_rows: list[dict[str, Any]] = []
    output_rows: list[dict[str, Any]] = []
    for record in records:
        task_id = ids[record.uid]
        numbers: set[int] = set()
        for attempt in record.attempts:
            if attempt.number in numbers:  # a malformed status: keep the first of a number
                continue
            numbers.add(attempt.number)
            # Not dataclasses.asdict: it deep-copies every field, the writer's largest cost.
            attempt_rows.append(
                {"task_id": task_id}
                | {f.name: getattr(attempt, f.name) for f in dataclasses.fields(attempt)}
            )
        label_rows.extend(
            {"task_id": task_id, "key": key, "value": value} for key, value in record.labels.items()
        )
        if record.log_tail:
            lines = [{"attempt": line.attempt, "line": line.line} for line in record.log_tail]
            log_rows.append({"task_id": task_id, "lines": lines})
        if record.output is not None:
            output_rows.append({"task_id": task_id} | dataclasses.asdict(record.output))
    for table, rows in (
        (schema.attempts, attempt_rows),
        (schema.labels, label_rows),
        (schema.logs, log_rows),
        (schema.outputs, output_rows),
    ):
        if rows:
            await conn.execute(sa.insert(table), rows)


async def archived(engine: AsyncEngine, uids: Sequence[str]) -> set[str]:
    """The UIDs among `uids` that the history holds."""
    found: set[str] = set()
    async with engine.connect() as conn:
        for start in range(0, len(uids), LOOKUP_CHUNK):
            chunk = list(uids[start : start + LOOKUP_CHUNK])
            query = sa.select(schema.tasks.c.uid).where(schema.tasks.c.uid.in_(chunk))
            found.update((await conn.execute(query)).scalars())
    return found
