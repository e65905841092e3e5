"""The history's tables (SQLAlchemy Core), the same on PostgreSQL and SQLite.

- `longtask_history`: one row per finished task, unique by `uid` (what makes a second write of
  the same task a no-op). Lists read this table alone, newest first by `finished_at` and `id`
  (the keyset of pagination), always within one namespace: hence its indexes.
- `longtask_history_attempts`: one row per attempt.
- `longtask_history_labels`: one row per label, so that label selectors are indexed lookups on
  both databases (the labels are also kept whole in the task row, for showing).
- `longtask_history_logs`: the bounded tail of the task's log, one row per task, read only
  with one record.
- `longtask_history_outputs`: the bounded start of the task's output (`ctx.output`, `::output`),
  one row per task that had one, read only with one record.
Child rows go with their task (ON DELETE CASCADE). Alembic's version table is
`longtask_history_alembic_version`, so the history can share a database with an application
that uses Alembic itself. Changing a table here needs a migration in `migrations/versions/`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

VERSION_TABLE: Final = "longtask_history_alembic_version"

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out: timestamptz on PostgreSQL, sortable text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the history stores aware UTC times only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        when: dt.datetime = value
        return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


# JSONB on PostgreSQL (compact, comparable), JSON text elsewhere.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# A 64-bit key that still is SQLite's rowid (INTEGER PRIMARY KEY), so it autoincrements there.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

tasks = sa.Table(
    "longtask_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(64), nullable=False, unique=True),
    sa.Column("namespace", sa.String(63), nullable=False),
    sa.Column("name", sa.String(253), nullable=False),
    sa.Column("phase", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64)),
    sa.Column("message", sa.Text),
    sa.Column("progress", sa.Float),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("queue", sa.String(63)),
    sa.Column("schedule", sa.String(253)),
    sa.Column("labels", Json, nullable=False),
    sa.Column("spec", Json, nullable=False),
    sa.Column("params_digest", sa.String(80)),
    sa.Column("result", Json),
    sa.Column("result_ref", sa.String(512)),
    sa.Column("dead_letter", Json),
    sa.Column("created_at", UtcDateTime),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime, nullable=False),
    sa.Column("archived_at", UtcDateTime, nullable=False),
    sa.Index(None, "namespace", "finished_at", "id"),
    sa.Index(None, "namespace", "phase", "finished_at", "id"),
    sa.Index(None, "namespace", "name"),
    sa.Index(None, "namespace", "queue", "finished_at"),
    sa.Index(None, "namespace", "schedule", "finished_at"),
    sa.Index(None, "finished_at"),
)

attempts = sa.Table(
    "longtask_history_attempts",
    metadata,
    sa.Column("task_id", BigId, sa.ForeignKey(tasks.c.id, ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("job_name", sa.String(253)),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("outcome", sa.String(16)),
    sa.Column("reason", sa.String(64)),
    sa.Column("exit_code", sa.Integer),
    sa.Column("message", sa.Text),
)

labels = sa.Table(
    "longtask_history_labels",
    metadata,
    sa.Column("task_id", BigId, sa.ForeignKey(tasks.c.id, ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(317), primary_key=True),
    sa.Column("value", sa.String(63), nullable=False),
    sa.Index(None, "key", "value", "task_id"),
)

logs = sa.Table(
    "longtask_history_logs",
    metadata,
    sa.Column("task_id", BigId, sa.ForeignKey(tasks.c.id, ondelete="CASCADE"), primary_key=True),
    # [{"attempt": n, "line": "..."}, ...], oldest first.
    sa.Column("lines", Json, nullable=False),
)

outputs = sa.Table(
    "longtask_history_outputs",
    metadata,
    sa.Column("task_id", BigId, sa.ForeignKey(tasks.c.id, ondelete="CASCADE"), primary_key=True),
    # The start of the output as text (JSON chunks one per line), at most the kept bytes.
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("chunks", sa.Integer, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("truncated", sa.Boolean, nullable=False),
)
