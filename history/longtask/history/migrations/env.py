"""Alembic's environment for the history: run by `migrating` with an open connection.

On PostgreSQL the migration holds a transaction-scoped advisory lock, so two processes that
start at once (an operator and a `longtask-history migrate` job) upgrade one after the other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from longtask.history import schema

# Any constant shared by every longtask release: the key of the migration's advisory lock.
ADVISORY_LOCK_KEY = 0x6C74_6869_7374  # "lthist"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    version_table=schema.VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        )
    context.run_migrations()
