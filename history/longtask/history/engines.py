"""From a DSN to SQLAlchemy engines: async for the operator and the gateway, sync for Alembic.

A DSN names the database the plain way (`postgresql://…`, `sqlite:////path/history.db`); the
drivers are this package's choice: psycopg 3 for PostgreSQL (sync and async alike), aiosqlite
(async) and the standard library's sqlite3 (sync) for SQLite. SQLite runs in WAL mode with a busy
timeout, so the gateway's reads never block the operator's writes and a brief lock waits instead
of failing; foreign keys are switched on (SQLite's default is off) for the cascades.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Longest wait for a connection to the database; an unreachable one fails fast and is retried.
CONNECT_TIMEOUT_SECONDS: Final = 5
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000

_ASYNC_DRIVERS: Final = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite+aiosqlite"}
_SYNC_DRIVERS: Final = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite+pysqlite"}


def backend(dsn: str) -> str:
    """`postgresql` or `sqlite` (ValueError for any other database)."""
    name = make_url(_plain(dsn)).get_backend_name()
    if name not in _ASYNC_DRIVERS:
        raise ValueError(f"the history needs PostgreSQL or SQLite, not {name!r}")
    return name


def _plain(dsn: str) -> str:
    return "postgresql" + dsn[len("postgres") :] if dsn.startswith("postgres://") else dsn


def url(dsn: str, asynchronous: bool = True) -> URL:
    """The DSN with this package's driver for its database."""
    parsed = make_url(_plain(dsn))
    drivers = _ASYNC_DRIVERS if asynchronous else _SYNC_DRIVERS
    return parsed.set(drivername=drivers[backend(dsn)])


def safe(dsn: str) -> str:
    """The DSN without its password, for logs."""
    try:
        return make_url(_plain(dsn)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid DSN>"


def create(dsn: str, pool_size: int = 5) -> AsyncEngine:
    """An async engine of the history database."""
    target = url(dsn)
    options: dict[str, Any] = {}
    if target.get_backend_name() == "postgresql":
        options = {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            "pool_pre_ping": True,
            "pool_recycle": 1800,
            "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        }
    engine = create_async_engine(target, **options)
    if target.get_backend_name() == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sync(dsn: str) -> sa.Engine:
    """A sync engine (Alembic, the `longtask-history` command, benchmarks' baselines)."""
    target = url(dsn, asynchronous=False)
    options: dict[str, Any] = {}
    if target.get_backend_name() == "postgresql":
        options = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS}}
    engine = sa.create_engine(target, **options)
    if target.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
