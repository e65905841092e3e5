"""The history's database code on SQLite and PostgreSQL: migrations, idempotent writes,
filtered keyset pages, one record whole, retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from longtask.history import (
    engines,
    migrating,
    pruning,
    querying,
    records,
    schema,
    selectors,
    writing,
)

from tests.fixtures.historyrecords import T0, record


@pytest.fixture
async def engine(history_dsn):
    migrating.upgrade(history_dsn)
    created = engines.create(history_dsn)
    yield created
    await created.dispose()


def count(dsn: str, table: sa.Table) -> int:
    sync = engines.create_sync(dsn)
    try:
        with sync.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        sync.dispose()


def test_an_empty_database_upgrades_to_the_schema_of_the_code(history_dsn):
    assert migrating.current(history_dsn) is None
    migrating.upgrade(history_dsn)
    assert migrating.current(history_dsn) == migrating.head()
    sync = engines.create_sync(history_dsn)
    try:
        with sync.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": schema.VERSION_TABLE, "compare_type": False}
            )
            assert compare_metadata(context, schema.metadata) == []
    finally:
        sync.dispose()
    migrating.upgrade(history_dsn)  # a second upgrade is a no-op
    assert migrating.current(history_dsn) == migrating.head()


@pytest.mark.parametrize("start", migrating.revisions()[:-1])
async def test_a_database_at_an_older_revision_upgrades_with_its_records(history_dsn, start):
    migrating.upgrade(history_dsn, start)
    sync = engines.create_sync(history_dsn)
    try:
        with sync.begin() as conn:
            task_id = conn.execute(
                sa.text(
                    "INSERT INTO longtask_history (uid, namespace, name, phase, attempt, labels,"
                    " spec, finished_at, archived_at) VALUES ('u-1', 'ns', 'nightly-1',"
                    " 'Succeeded', 1, '{}', '{}', :t, :t) RETURNING id"
                ),
                {"t": T0.replace(tzinfo=None) if history_dsn.startswith("sqlite") else T0},
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO longtask_history_labels (task_id, key, value)"
                    " VALUES (:id, 'longtask.io/schedule', 'nightly')"
                ),
                {"id": task_id},
            )
    finally:
        sync.dispose()
    migrating.upgrade(history_dsn)
    assert migrating.current(history_dsn) == migrating.head()

    # Revision 0002 fills the schedule column from the labels of older records.
    filters = querying.Filters(schedule="nightly") if start < "0002" else querying.Filters()
    engine = engines.create(history_dsn)
    try:
        page = await querying.search(engine, "ns", filters, 10)
    finally:
        await engine.dispose()
    assert [e.uid for e in page.entries] == ["u-1"]


async def test_a_record_is_written_once_however_often_and_by_how_many(engine, history_dsn):
    batch = [
        record(name=f"t{i}", finished=T0 + dt.timedelta(seconds=i), attempts=2) for i in range(5)
    ]
    assert sorted(await writing.write(engine, batch)) == sorted(r.uid for r in batch)
    assert await writing.write(engine, batch) == []  # a retry: nothing new
    second = engines.create(history_dsn)
    try:
        extra = record(name="t5")
        results = await asyncio.gather(
            writing.write(engine, [*batch, extra]), writing.write(second, [extra, *batch])
        )
    finally:
        await second.dispose()
    assert sorted(results[0] + results[1]) == [extra.uid]
    assert count(history_dsn, schema.tasks) == 6
    assert count(history_dsn, schema.attempts) == 5 * 2 + 1
    assert await writing.archived(engine, [r.uid for r in batch] + ["nope"]) == {
        r.uid for r in batch
    }


async def test_one_record_comes_back_whole(engine):
    tail = [records.LogLine("line 1", 1), records.LogLine("line 2", 2)]
    written = record(
        name="dead",
        phase="Failed",
        attempts=3,
        dead_lettered=True,
        labels={"team": "a"},
        params={"documents": 20},
        log_tail=tail,
    )
    await writing.write(engine, [written])
    detail = await querying.get(engine, "ns", written.uid)
    assert detail is not None
    assert detail.entry.phase == "Failed" and detail.entry.attempt == 3
    assert detail.entry.finished_at == T0
    assert detail.entry.labels == {"team": "a"}
    assert detail.spec["params"] == {"documents": 20}
    assert [a.number for a in detail.attempts] == [1, 2, 3]
    assert detail.attempts[-1].message == "boom 3" and detail.attempts[-1].exit_code == 1
    assert detail.dead_letter is not None and detail.dead_letter["attempts"] == 3
    assert list(detail.log_tail) == tail
    assert await querying.get(engine, "other", written.uid) is None


async def test_filters_and_pages_select_exactly_the_matching_records(engine):
    written = [
        record(
            name=f"{'embed' if i % 2 else 'sum'}-{i}",
            phase=("Succeeded", "Failed", "Cancelled")[i % 3],
            finished=T0 + dt.timedelta(minutes=i // 2),  # pairs share a finish time
            labels={"team": "a" if i % 4 == 0 else "b", **({"gpu": "yes"} if i % 5 == 0 else {})},
            queue="q1" if i % 3 == 0 else None,
        )
        for i in range(40)
    ]
    await writing.write(engine, written)
    newest_first = sorted(written, key=lambda r: r.finished_at, reverse=True)

    async def everything(filters: querying.Filters, limit: int) -> list[str]:
        found, cursor = [], None
        while True:
            page = await querying.search(engine, "ns", filters, limit, cursor)
            assert len(page.entries) <= limit
            found += [e.uid for e in page.entries]
            cursor = page.next
            if cursor is None:
                return found

    every = await everything(querying.Filters(), 7)
    assert sorted(every) == sorted(r.uid for r in written) and len(set(every)) == 40
    assert [
        written_by_uid.finished_at
        for written_by_uid in (next(r for r in written if r.uid == u) for u in every)
    ] == [r.finished_at for r in newest_first]

    cases = {
        querying.Filters(phases=("Failed",)): lambda r: r.phase == "Failed",
        querying.Filters(phases=("Failed", "Cancelled")): lambda r: r.phase != "Succeeded",
        querying.Filters(name_prefix="embed-"): lambda r: r.name.startswith("embed-"),
        querying.Filters(queue="q1"): lambda r: r.queue == "q1",
        querying.Filters(selector=selectors.parse("team=a")): lambda r: r.labels["team"] == "a",
        querying.Filters(selector=selectors.parse("team!=a,gpu")): lambda r: (
            r.labels["team"] != "a" and "gpu" in r.labels
        ),
        querying.Filters(selector=selectors.parse("!gpu")): lambda r: "gpu" not in r.labels,
        querying.Filters(
            since=T0 + dt.timedelta(minutes=5), until=T0 + dt.timedelta(minutes=10)
        ): lambda r: T0 + dt.timedelta(minutes=5) <= r.finished_at < T0 + dt.timedelta(minutes=10),
    }
    for filters, keep in cases.items():
        expected = [r.uid for r in newest_first if keep(r)]
        got = await everything(filters, 3)
        assert sorted(got) == sorted(expected), filters
        assert len(got) == len(expected)
    assert (await querying.search(engine, "other", querying.Filters(), 10)).entries == []


async def test_a_bad_cursor_is_refused():
    with pytest.raises(ValueError):
        querying.decode_cursor("not-a-cursor")
    when = T0 + dt.timedelta(microseconds=5)
    assert querying.decode_cursor(querying.encode_cursor(when, 42)) == (when, 42)


async def test_retention_prunes_old_records_and_their_rows_in_batches(engine, history_dsn):
    old = [
        record(name=f"old-{i}", finished=T0 - dt.timedelta(days=100), attempts=2, labels={"a": "b"})
        for i in range(7)
    ]
    new = [
        record(name=f"new-{i}", finished=T0, log_tail=[records.LogLine("x", 1)]) for i in range(3)
    ]
    await writing.write(engine, old + new)
    assert await pruning.prune_batch(engine, T0 - dt.timedelta(days=90), 5) == 5
    assert await pruning.prune(engine, T0 - dt.timedelta(days=90), 5) == 2
    assert count(history_dsn, schema.tasks) == 3
    assert count(history_dsn, schema.attempts) == 3
    assert count(history_dsn, schema.labels) == 0
    assert count(history_dsn, schema.logs) == 3


def test_the_command_migrates_and_names_the_revision(history_dsn, stack):
    env = stack.env | {"LONGTASK_HISTORY_DSN": history_dsn}
    command = str(stack.bin_dir / "longtask-history")
    before = subprocess.run([command, "current"], env=env, capture_output=True, text=True)
    assert before.returncode == 0, before.stderr
    assert before.stdout.strip() == "empty (no history tables)"
    done = subprocess.run([command, "migrate"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"at revision {migrating.head()}")
    assert "@" not in done.stdout or ":***@" in done.stdout  # no password shown
