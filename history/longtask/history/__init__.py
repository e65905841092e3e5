"""The task history: every finished LongTask kept in SQL after Kubernetes forgets it.

One record per task (idempotent by UID), written by the operator before a task's TTL may
delete it, read by the gateway. SQLAlchemy 2 is the access layer, Alembic migrates the schema
(shipped in `migrations/`); PostgreSQL in production, SQLite as the embedded default.

Modules: `records` (a finished task as a record, pure), `schema` (the tables), `engines` (a DSN
to an engine), `writing`, `querying`, `pruning` (the statements), `selectors` (label selectors,
pure), `migrating` (Alembic upgrade), `settings`, `main` (the `longtask-history` command).
This package imports only `longtask.core`; the operator and the gateway import it.
"""
