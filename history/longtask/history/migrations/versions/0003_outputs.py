"""The bounded start of each task's output (`ctx.output`, `::output`), one row per task.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "longtask_history_outputs"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
        ),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("truncated", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["longtask_history.id"], name=f"fk_{TABLE}_task_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", name=f"pk_{TABLE}"),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
