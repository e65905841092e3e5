"""History database errors answer 503; a database the operator has not migrated yet says so."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from longtask.api import errors
from sqlalchemy import exc


@pytest.mark.parametrize(
    "error",
    [
        exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")),
        exc.ProgrammingError("SELECT", {}, psycopg.errors.UndefinedTable("relation x")),
    ],
    ids=["sqlite", "postgresql"],
)
def test_a_database_without_tables_says_it_is_not_migrated(error: exc.SQLAlchemyError) -> None:
    found = errors.from_history(error)
    assert (found.status, found.error) == (503, "history_unavailable")
    assert "no tables yet" in found.message and "longtask-history migrate" in found.message


def test_any_other_database_error_is_an_outage() -> None:
    error = exc.OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))
    found = errors.from_history(error)
    assert (found.status, found.message) == (503, "the history database is unreachable now")
