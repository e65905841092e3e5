"""History settings from the environment."""

from __future__ import annotations

import pytest
from longtask.history import engines, settings


def test_defaults_and_overrides():
    assert settings.from_env({}) == settings.Settings()
    assert not settings.from_env({}).enabled
    got = settings.from_env(
        {
            "LONGTASK_HISTORY_DSN": "sqlite:////tmp/h.db",
            "LONGTASK_HISTORY_PARAMS": "digest",
            "LONGTASK_HISTORY_LOG_LINES": "50",
            "LONGTASK_HISTORY_RETENTION_DAYS": "7",
            "LONGTASK_HISTORY_MIGRATE": "false",
        }
    )
    assert got.enabled and got.params is settings.ParamsMode.DIGEST
    assert (got.log_lines, got.retention_days, got.migrate) == (50, 7.0, False)


@pytest.mark.parametrize(
    "env",
    [
        {"LONGTASK_HISTORY_PARAMS": "some"},
        {"LONGTASK_HISTORY_RETENTION_DAYS": "-1"},
        {"LONGTASK_HISTORY_LOG_LINES": "many"},
    ],
)
def test_bad_values_are_refused(env):
    with pytest.raises(ValueError):
        settings.from_env(env)


def test_dsns_get_this_packages_drivers_and_hide_passwords():
    assert engines.url("postgres://u:p@h/db").drivername == "postgresql+psycopg"
    assert engines.url("sqlite:////x.db").drivername == "sqlite+aiosqlite"
    assert engines.url("sqlite:////x.db", asynchronous=False).drivername == "sqlite+pysqlite"
    assert "secret" not in engines.safe("postgresql://u:secret@h/db")
    with pytest.raises(ValueError, match="PostgreSQL or SQLite"):
        engines.backend("mysql://u:p@h/db")
