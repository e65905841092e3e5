"""Schema migrations with Alembic: the revisions ship in this package (`migrations/`).

The operator calls `upgrade` when it starts (unless LONGTASK_HISTORY_MIGRATE=false);
`longtask-history migrate` does the same by hand or from a deployment job. Both are no-ops on an
up-to-date database. Synchronous (Alembic is): async callers run it in a thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from . import engines, schema

SCRIPTS: Final = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    return config


def upgrade(dsn: str, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default)."""
    engine = engines.create_sync(dsn)
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current(dsn: str) -> str | None:
    """The database's revision (None: no history tables yet)."""
    engine = engines.create_sync(dsn)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": schema.VERSION_TABLE}
            )
            return context.get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision this version of longtask ships."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None, "no migrations shipped"
    return found


def revisions() -> list[str]:
    """Every shipped revision, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]
