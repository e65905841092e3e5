"""The history: tasks, their attempts, labels and log tails.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The types as this revision made them (frozen here: later changes to schema.py need their own).
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "longtask_history",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("message", sa.Text),
        sa.Column("progress", sa.Float),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("queue", sa.String(63)),
        sa.Column("labels", Json, nullable=False),
        sa.Column("spec", Json, nullable=False),
        sa.Column("params_digest", sa.String(80)),
        sa.Column("result", Json),
        sa.Column("result_ref", sa.String(512)),
        sa.Column("dead_letter", Json),
        sa.Column("created_at", Time),
        sa.Column("started_at", Time),
        sa.Column("finished_at", Time, nullable=False),
        sa.Column("archived_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_longtask_history"),
        sa.UniqueConstraint("uid", name="uq_longtask_history_uid"),
    )
    for indexed in (
        ["namespace", "finished_at", "id"],
        ["namespace", "phase", "finished_at", "id"],
        ["namespace", "name"],
        ["namespace", "queue", "finished_at"],
        ["finished_at"],
    ):
        op.create_index(f"ix_longtask_history_{'_'.join(indexed)}", "longtask_history", indexed)
    children: list[tuple[str, list[sa.Column[Any]]]] = [
        (
            "longtask_history_attempts",
            [
                sa.Column("number", sa.Integer, primary_key=True),
                sa.Column("job_name", sa.String(253)),
                sa.Column("started_at", Time),
                sa.Column("finished_at", Time),
                sa.Column("outcome", sa.String(16)),
                sa.Column("reason", sa.String(64)),
                sa.Column("exit_code", sa.Integer),
                sa.Column("message", sa.Text),
            ],
        ),
        (
            "longtask_history_labels",
            [
                sa.Column("key", sa.String(317), primary_key=True),
                sa.Column("value", sa.String(63), nullable=False),
            ],
        ),
        ("longtask_history_logs", [sa.Column("lines", Json, nullable=False)]),
    ]
    for table, columns in children:
        op.create_table(
            table,
            sa.Column("task_id", BigId, primary_key=True),
            *columns,
            sa.ForeignKeyConstraint(
                ["task_id"], ["longtask_history.id"], name=f"fk_{table}_task_id", ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint(
                "task_id", *[c.name for c in columns if c.primary_key], name=f"pk_{table}"
            ),
        )
    op.create_index(
        "ix_longtask_history_labels_key_value_task_id",
        "longtask_history_labels",
        ["key", "value", "task_id"],
    )


def downgrade() -> None:
    for table in ("longtask_history_logs", "longtask_history_labels", "longtask_history_attempts"):
        op.drop_table(table)
    op.drop_table("longtask_history")
