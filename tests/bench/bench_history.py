"""Benchmark of the task history: archive write throughput and query latency at 100,000 records,
on SQLite and on PostgreSQL, each against the same work in plain SQL in the same run.

- Writes: records of mixed finished tasks (1-3 attempts, 1-3 labels, a 20-line log tail) written
  as the operator's archiver writes them (`writing.write`, batches of 200: one transaction per
  batch, ON CONFLICT (uid) DO NOTHING … RETURNING, then the attempt, label and log rows).
  Baseline: the same rows inserted with the database's own driver and hand-written SQL (a
  multi-row INSERT … RETURNING per batch, then executemany of the child rows), without SQLAlchemy
  and without the conflict clause. Each repetition writes into a fresh, empty database.
- Queries: with ROWS records in one namespace (and a tenth as many in another), each query runs
  QUERIES times through `longtask.history.querying` (SQLAlchemy async, what the gateway runs) and
  through the gateway's HTTP endpoint (auth none, JSON out); baseline: the same query written in
  plain SQL on the plain driver (sqlite3, psycopg). p50 and p99 per query.

    python -m tests.bench.run history          (or --quick for small sizes)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import httpx
import psycopg
from longtask.core import resource
from longtask.devstack import procs
from longtask.history import engines, migrating, querying, records, selectors, writing
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bench import common
from tests.bench.context import Bench
from tests.fixtures.history import drop_database, empty_database
from tests.fixtures.historyrecords import T0, finished_task

BATCH: Final = 200
LOG_LINES: Final = 20
DEEP_OFFSET_SHARE: Final = 0.5  # the deep page starts half way down the namespace


def mixed(namespace: str, count: int, seed: int) -> list[records.Record]:
    rng = random.Random(seed)
    made = []
    for index in range(count):
        kind = rng.choice(["embed", "sum", "nightly"])
        labels = {"team": rng.choice("abcd")}
        if rng.random() < 0.3:
            labels["gpu"] = "yes"
        if kind == "nightly":
            labels[resource.LABEL_SCHEDULE] = "nightly"
        phase = rng.choices(["Succeeded", "Failed", "Cancelled"], [8, 1.5, 0.5])[0]
        task = finished_task(
            name=f"{kind}-{seed}-{index}",
            namespace=namespace,
            phase=phase,
            finished=T0 - dt.timedelta(seconds=rng.randrange(0, 90 * 86400)),
            labels=labels,
            attempts=rng.randint(1, 3),
            dead_lettered=phase == "Failed",
            queue=rng.choice(["q1", "q2", None]),
            params={"documents": index, "model": "small"},
        )
        tail = [records.LogLine(f"processed item {i} of {index}", 1) for i in range(LOG_LINES)]
        made.append(records.build(task, tail))
    return made


# ---- writes --------------------------------------------------------------------------------


async def write_longtask(dsn: str, batch: Sequence[records.Record]) -> float:
    engine = engines.create(dsn)
    try:
        began = time.perf_counter()
        for start in range(0, len(batch), BATCH):
            await writing.write(engine, batch[start : start + BATCH], T0)
        return time.perf_counter() - began
    finally:
        await engine.dispose()


class Plain:
    """The history's database through its own driver and hand-written SQL (the baseline)."""

    def __init__(self, dsn: str) -> None:
        self.postgres = dsn.startswith("postgres")
        if self.postgres:
            self.conn: Any = psycopg.connect(dsn)
        else:
            self.conn = sqlite3.connect(dsn.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")

    def sql(self, text: str) -> str:
        """`:name` parameters in the driver's style."""
        if not self.postgres:
            return text
        return re.sub(r":(\w+)", r"%(\1)s", text.replace("%", "%%"))

    def time(self, when: dt.datetime) -> Any:
        """A time as the history stores it (timestamptz; naive UTC text on SQLite)."""
        if self.postgres:
            return when
        return (
            when.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )

    def rows(self, text: str, params: dict[str, Any]) -> list[Any]:
        cursor = self.conn.execute(self.sql(text), params)
        return list(cursor.fetchall())

    def write(self, batch: Sequence[records.Record]) -> float:
        began = time.perf_counter()
        for start in range(0, len(batch), BATCH):
            self._write(batch[start : start + BATCH])
        return time.perf_counter() - began

    def _write(self, chunk: Sequence[records.Record]) -> None:
        columns = list(writing.task_row(chunk[0], T0))
        rows = [writing.task_row(r, T0) for r in chunk]
        values, params = [], {}
        for i, row in enumerate(rows):
            names = []
            for column in columns:
                value = row[column]
                if isinstance(value, dict | list) or column in ("labels", "spec", "result"):
                    value = json.dumps(value) if value is not None else None
                elif isinstance(value, dt.datetime):
                    value = self.time(value)
                params[f"{column}{i}"] = value
                names.append(f":{column}{i}")
            values.append(f"({', '.join(names)})")
        insert = (
            f"INSERT INTO longtask_history ({', '.join(columns)}) VALUES {', '.join(values)}"
            " RETURNING id, uid"
        )
        cursor = self.conn.cursor()
        if not self.postgres:
            cursor.execute("BEGIN")
        ids = dict(
            (uid, task_id) for task_id, uid in cursor.execute(self.sql(insert), params).fetchall()
        )
        attempts, labels, logs = [], [], []
        for record in chunk:
            task_id = ids[record.uid]
            for a in record.attempts:
                attempts.append(
                    {
                        "task_id": task_id,
                        "number": a.number,
                        "job_name": a.job_name,
                        "started_at": self.time(a.started_at) if a.started_at else None,
                        "finished_at": self.time(a.finished_at) if a.finished_at else None,
                        "outcome": a.outcome,
                        "reason": a.reason,
                        "exit_code": a.exit_code,
                        "message": a.message,
                    }
                )
            labels += [{"task_id": task_id, "key": k, "value": v} for k, v in record.labels.items()]
            lines = [{"attempt": x.attempt, "line": x.line} for x in record.log_tail]
            logs.append({"task_id": task_id, "lines": json.dumps(lines)})
        cursor.executemany(
            self.sql(
                "INSERT INTO longtask_history_attempts (task_id, number, job_name, started_at,"
                " finished_at, outcome, reason, exit_code, message) VALUES (:task_id, :number,"
                " :job_name, :started_at, :finished_at, :outcome, :reason, :exit_code, :message)"
            ),
            attempts,
        )
        cursor.executemany(
            self.sql(
                "INSERT INTO longtask_history_labels (task_id, key, value)"
                " VALUES (:task_id, :key, :value)"
            ),
            labels,
        )
        cursor.executemany(
            self.sql(
                "INSERT INTO longtask_history_logs (task_id, lines) VALUES (:task_id, :lines)"
            ),
            logs,
        )
        self.conn.commit() if self.postgres else cursor.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


# ---- queries -------------------------------------------------------------------------------

PAGE: Final = 100
LIST_COLUMNS: Final = (
    "t.id, t.uid, t.namespace, t.name, t.phase, t.finished_at, t.archived_at, t.reason,"
    " t.message, t.progress, t.attempt, t.queue, t.schedule, t.labels, t.result_ref,"
    " t.created_at, t.started_at"
)


def label_exists(key: str, value: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM longtask_history_labels l WHERE l.task_id = t.id"
        f" AND l.key = '{key}' AND l.value IN ('{value}'))"
    )


def page_sql(where: str) -> str:
    return (
        f"SELECT {LIST_COLUMNS} FROM longtask_history t WHERE t.namespace = :ns{where}"
        f" ORDER BY t.finished_at DESC, t.id DESC LIMIT {PAGE + 1}"
    )


class Query:
    """One query three ways: longtask's querying, the gateway's HTTP endpoint, plain SQL."""

    def __init__(
        self,
        name: str,
        library: Callable[[AsyncEngine], Any],
        http: tuple[str, dict[str, Any]] | None,
        sql: str,
        params: dict[str, Any],
    ) -> None:
        self.name, self.library, self.http, self.sql, self.params = name, library, http, sql, params


def queries(namespace: str, plain: Plain, deep: tuple[dt.datetime, int], uid: str) -> list[Query]:
    week = (T0 - dt.timedelta(days=30), T0 - dt.timedelta(days=23))
    cursor = querying.encode_cursor(*deep)
    path = f"/v1/namespaces/{namespace}/history"
    return [
        Query(
            "first page",
            lambda e: querying.search(e, namespace, querying.Filters(), PAGE),
            (path, {"limit": PAGE}),
            page_sql(""),
            {"ns": namespace},
        ),
        Query(
            "phase=Failed, team=a",
            lambda e: querying.search(
                e,
                namespace,
                querying.Filters(phases=("Failed",), selector=selectors.parse("team=a")),
                PAGE,
            ),
            (path, {"limit": PAGE, "phase": "Failed", "labelSelector": "team=a"}),
            page_sql(f" AND t.phase IN ('Failed') AND {label_exists('team', 'a')}"),
            {"ns": namespace},
        ),
        Query(
            "deep page (row 50%)",
            lambda e: querying.search(e, namespace, querying.Filters(), PAGE, cursor),
            (path, {"limit": PAGE, "continue": cursor}),
            page_sql(" AND (t.finished_at, t.id) < (:at, :id)"),
            {"ns": namespace, "at": plain.time(deep[0]), "id": deep[1]},
        ),
        Query(
            "name prefix + one week",
            lambda e: querying.search(
                e,
                namespace,
                querying.Filters(name_prefix="embed-", since=week[0], until=week[1]),
                PAGE,
            ),
            (
                path,
                {
                    "limit": PAGE,
                    "namePrefix": "embed-",
                    "since": week[0].isoformat(),
                    "until": week[1].isoformat(),
                },
            ),
            page_sql(
                " AND t.name LIKE 'embed-%' AND t.finished_at >= :since AND t.finished_at < :until"
            ),
            {"ns": namespace, "since": plain.time(week[0]), "until": plain.time(week[1])},
        ),
        Query(
            "one record whole",
            lambda e: querying.get(e, namespace, uid),
            (f"{path}/{uid}", {}),
            "SELECT t.*, (SELECT lines FROM longtask_history_logs g WHERE g.task_id = t.id)"
            " FROM longtask_history t WHERE t.namespace = :ns AND t.uid = :uid;"
            "SELECT a.* FROM longtask_history_attempts a JOIN longtask_history t"
            " ON a.task_id = t.id WHERE t.uid = :uid ORDER BY a.number",
            {"ns": namespace, "uid": uid},
        ),
    ]


def run_plain(plain: Plain, query: Query) -> None:
    for statement in query.sql.split(";"):
        plain.rows(statement, {k: v for k, v in query.params.items() if f":{k}" in statement})


def latencies(call: Callable[[], Any], count: int) -> list[float]:
    out = []
    for _ in range(count):
        began = time.perf_counter()
        call()
        out.append((time.perf_counter() - began) * 1000)
    return out


def start_gateway(bench: Bench, dsn: str) -> tuple[procs.Proc, str]:
    port = procs.free_port()
    env = bench.stack.env | {
        "LONGTASK_AUTH_MODE": "none",
        "LONGTASK_HOST": "127.0.0.1",
        "LONGTASK_PORT": str(port),
        "LONGTASK_LOG_LEVEL": "warning",
        "LONGTASK_HISTORY_DSN": dsn,
    }
    log_dir = bench.workdir / "history-gateway"
    proc = procs.start(
        "history-gateway", [str(bench.stack.bin_dir / "longtask-gateway")], log_dir, env
    )
    procs.wait_until(lambda: procs.port_open(port), proc, "gateway", timeout=60)
    return proc, f"http://127.0.0.1:{port}"


# ---- the run -------------------------------------------------------------------------------


def run(bench: Bench) -> common.Result:
    rows = bench.size(100_000, 5_000)
    writes = bench.size(5_000, 1_000)
    count = bench.size(100, 40)  # calls per query, way and repetition
    result = common.Result(
        "history",
        "8. History: archive writes and queries at 100,000 records, longtask vs plain SQL",
        {"rows": rows, "write_batch": writes, "queries": count, "page": PAGE, "reps": bench.reps},
    )
    server = bench.stack.start_postgresql()
    backends = {
        "SQLite": lambda: f"sqlite:///{bench.workdir / f'history-{random.randrange(1 << 30)}.db'}",
        "PostgreSQL": lambda: empty_database(server),
    }
    created: list[str] = []

    def fresh(backend: str) -> str:
        dsn = backends[backend]()
        created.append(dsn)
        migrating.upgrade(dsn)
        return dsn

    with bench.namespace("bh") as namespace:
        try:
            for backend in backends:
                print(f"  {backend}: writes", flush=True)
                for rep in range(bench.reps):
                    batch = mixed(namespace, writes, seed=1000 + rep)
                    took = asyncio.run(write_longtask(fresh(backend), batch))
                    result.add(f"{backend}: write", "longtask", "records/s", writes / took)
                    plain = Plain(fresh(backend))
                    try:
                        took = plain.write(mixed(namespace, writes, seed=2000 + rep))
                    finally:
                        plain.close()
                    result.add(
                        f"{backend}: write", "baseline: plain SQL", "records/s", writes / took
                    )
                print(f"  {backend}: filling {rows} records", flush=True)
                dsn = fresh(backend)
                began = time.perf_counter()
                data = mixed(namespace, rows, seed=7)
                asyncio.run(write_longtask(dsn, data + mixed("other", rows // 10, seed=8)))
                result.notes.append(
                    f"{backend}: {rows + rows // 10:,} records written in "
                    f"{time.perf_counter() - began:.0f} s (building them included)"
                )
                measure_queries(bench, result, backend, dsn, namespace, data, count)
        finally:
            for dsn in created:
                if dsn.startswith("postgres"):
                    drop_database(server, dsn)
                else:
                    Path(dsn.removeprefix("sqlite:///")).unlink(missing_ok=True)
    result.notes += [
        "write: records/s of one writer in batches of 200 (each record: its row, 1-3 attempts,"
        " 1-3 labels, a 20-line log tail), into an empty database each repetition",
        "queries: p50/p99 over the calls of one repetition; the gateway's figures include HTTP,"
        " auth mode none and the JSON of 100 records",
    ]
    return result


def measure_queries(
    bench: Bench,
    result: common.Result,
    backend: str,
    dsn: str,
    namespace: str,
    data: list[records.Record],
    count: int,
) -> None:
    plain = Plain(dsn)
    gateway, url = start_gateway(bench, dsn)
    loop = asyncio.new_event_loop()
    engine = engines.create(dsn)
    try:
        offset = int(len(data) * DEEP_OFFSET_SHARE)
        at, row_id = plain.rows(
            "SELECT finished_at, id FROM longtask_history WHERE namespace = :ns"
            f" ORDER BY finished_at DESC, id DESC LIMIT 1 OFFSET {offset}",
            {"ns": namespace},
        )[0]
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC)
        uid = data[len(data) // 3].uid
        with httpx.Client(base_url=url, timeout=30) as http:
            for query in queries(namespace, plain, (at, row_id), uid):
                # The three ways must agree on what the query returns.
                library = loop.run_until_complete(query.library(engine))
                if isinstance(library, querying.Page):
                    sql_rows = plain.rows(query.sql, query.params)[:PAGE]
                    assert [e.uid for e in library.entries] == [r[1] for r in sql_rows], query.name
                ways = ways_of(query, loop, engine, http, plain)
                for _ in range(bench.reps):
                    for system, call in ways:
                        times = latencies(call, count)
                        metric = f"{backend}: {query.name}"
                        result.add(f"{metric} p50", system, "ms", common.percentile(times, 50))
                        result.add(f"{metric} p99", system, "ms", common.percentile(times, 99))
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()
        plain.close()
        procs.stop(gateway)


def ways_of(
    query: Query,
    loop: asyncio.AbstractEventLoop,
    engine: AsyncEngine,
    http: httpx.Client,
    plain: Plain,
) -> list[tuple[str, Callable[[], Any]]]:
    """The three ways of running `query`, as (system, call)."""
    return [
        ("longtask.history", lambda: loop.run_until_complete(query.library(engine))),
        ("longtask gateway (HTTP)", lambda: _get(http, query.http)),
        ("baseline: plain SQL", lambda: run_plain(plain, query)),
    ]


def _get(http: httpx.Client, target: tuple[str, dict[str, Any]] | None) -> None:
    assert target is not None
    response = http.get(target[0], params=target[1])
    response.raise_for_status()
