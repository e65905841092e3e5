"""The archiver on a real SQLite file: records written once, held while the database or the log
tails are away, recognised after a restart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from longtask.core.resource import LongTask
from longtask.history import engines, schema
from longtask.history import settings as history_settings
from longtask.operator import archiving
from longtask.operator.metrics import Metrics

from tests.fixtures.historyrecords import T0, finished_task


class Tails:
    """Log tails as Redis would give them (None: Redis cannot say)."""

    def __init__(self, lines: dict[str, list[dict[str, str]]] | None = None) -> None:
        self.lines = lines

    async def __call__(self, uids: Sequence[str], count: int) -> Any:
        if self.lines is None:
            return None
        return {uid: self.lines.get(uid, [])[-count:] for uid in uids}


def archiver(dsn: str, tails: Tails, now: dt.datetime = T0) -> tuple[archiving.Archiver, Metrics]:
    metrics = Metrics()
    settings = history_settings.Settings(dsn=dsn, log_lines=2)
    return archiving.Archiver(settings, tails, metrics, now=lambda: now), metrics


def rows(dsn: str) -> list[Any]:
    engine = engines.create_sync(dsn)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(schema.tasks.c.uid, schema.tasks.c.name)))
    finally:
        engine.dispose()


@pytest.fixture
def dsn(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.db'}"


async def test_finished_tasks_are_written_once_with_their_log_tails(dsn: str) -> None:
    tasks = [finished_task(name=f"t{i}", finished=T0 - dt.timedelta(seconds=5)) for i in range(3)]
    lines = {tasks[0]["metadata"]["uid"]: [{"line": f"l{i}", "attempt": "1"} for i in range(5)]}
    arch, metrics = archiver(dsn, Tails(lines))
    told: list[LongTask] = []
    arch.on_committed = told.extend
    for task in tasks:
        arch.submit(task)
    assert arch.pending == 3 and arch.lag(T0) == pytest.approx(5)
    await arch.flush()
    assert arch.pending == 0 and arch.lag(T0) == 0
    assert all(arch.archived(t["metadata"]["uid"]) for t in tasks)
    assert [t["metadata"]["name"] for t in told] == ["t0", "t1", "t2"]
    assert sorted(name for _, name in rows(dsn)) == ["t0", "t1", "t2"]
    assert metrics.history_written.labels("ns")._value.get() == 3
    arch.submit(tasks[0])  # written already: nothing to do
    assert arch.pending == 0
    await arch.close()


async def test_a_restarted_operator_finds_written_records_and_writes_only_the_rest(
    dsn: str,
) -> None:
    done, missing = finished_task(name="done"), finished_task(name="missing")
    first, _ = archiver(dsn, Tails({}))
    first.submit(done)
    await first.flush()
    await first.close()
    second, metrics = archiver(dsn, Tails({}))
    second.submit(done)
    second.submit(missing)
    await second.flush()
    assert second.archived(done["metadata"]["uid"]) and second.archived(missing["metadata"]["uid"])
    assert sorted(name for _, name in rows(dsn)) == ["done", "missing"]
    assert metrics.history_written.labels("ns")._value.get() == 1
    await second.close()


async def test_a_record_waits_a_while_for_its_log_tail_then_goes_without(dsn: str) -> None:
    recent = finished_task(name="recent", finished=T0 - dt.timedelta(seconds=10))
    old = finished_task(name="old", finished=T0 - dt.timedelta(seconds=archiving.LOG_WAIT_SECONDS))
    arch, _ = archiver(dsn, Tails(None))
    arch.submit(recent)
    arch.submit(old)
    await arch.flush()
    assert [name for _, name in rows(dsn)] == ["old"]
    assert arch.pending == 1 and not arch.archived(recent["metadata"]["uid"])
    await arch.close()


async def test_an_unreachable_database_keeps_every_record_pending(tmp_path: Path) -> None:
    arch, _ = archiver(f"sqlite:///{tmp_path / 'missing' / 'history.db'}", Tails({}))
    task = finished_task(finished=T0 - dt.timedelta(minutes=3))
    arch.submit(task)
    with pytest.raises(sa.exc.OperationalError):
        await arch.flush()
    assert arch.pending == 1 and not arch.archived(task["metadata"]["uid"])
    assert arch.lag(T0) == pytest.approx(180)
    await arch.close()
