"""The schedule that created a task (label longtask.io/schedule), to filter by it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("longtask_history", sa.Column("schedule", sa.String(253)))
    # Records archived before this revision: their schedule is in their labels.
    labels = sa.table(
        "longtask_history_labels", sa.column("task_id"), sa.column("key"), sa.column("value")
    )
    history = sa.table("longtask_history", sa.column("id"), sa.column("schedule"))
    op.execute(
        history.update().values(
            schedule=sa.select(labels.c.value)
            .where(labels.c.task_id == history.c.id, labels.c.key == "longtask.io/schedule")
            .scalar_subquery()
        )
    )
    op.create_index(
        "ix_longtask_history_namespace_schedule_finished_at",
        "longtask_history",
        ["namespace", "schedule", "finished_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_longtask_history_namespace_schedule_finished_at", "longtask_history")
    with op.batch_alter_table("longtask_history") as batch:
        batch.drop_column("schedule")
