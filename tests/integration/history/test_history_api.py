"""The history through the gateway, the Python client and the CLI, on SQLite and PostgreSQL:
filters and keyset pages return exactly the right rows of a few hundred mixed records; one record
comes whole; reading needs the rights to read LongTasks in the namespace."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import subprocess
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from kubernetes import client
from longtask.client import AsyncClient, Client, NotFound
from longtask.core import resource
from longtask.history import engines, migrating, records, writing

from tests.fixtures.gateway import Gateway, GatewayFactory
from tests.fixtures.historyrecords import T0, finished_task
from tests.integration.api.test_gateway_auth import account_token

COUNT = 300
PHASES = ("Succeeded", "Failed", "Cancelled")


def mixed(namespace: str, count: int = COUNT) -> list[records.Record]:
    """`count` records of mixed phases, labels, names, queues, schedules and finish times (some
    finish at the same second, so pages break ties by id)."""
    rng = random.Random(7)
    made = []
    for index in range(count):
        kind = rng.choice(["embed", "sum", "nightly"])
        labels = {"team": rng.choice("abc")}
        if rng.random() < 0.3:
            labels["gpu"] = "yes"
        if kind == "nightly":
            labels[resource.LABEL_SCHEDULE] = "nightly"
        phase = rng.choice(PHASES)
        task = finished_task(
            name=f"{kind}-{index}",
            namespace=namespace,
            phase=phase,
            finished=T0 - dt.timedelta(minutes=rng.randrange(0, 30 * 24 * 60, 7)),
            labels=labels,
            attempts=rng.randint(1, 3),
            dead_lettered=phase == "Failed",
            queue=rng.choice(["q1", "q2", None]),
        )
        made.append(records.build(task, [records.LogLine(f"line of {index}", 1)]))
    return made


@pytest.fixture
def archive(
    history_dsn: str, namespace: str, gateway_factory: GatewayFactory
) -> tuple[Gateway, list[records.Record]]:
    """A gateway reading a history of COUNT mixed records of `namespace`."""
    migrating.upgrade(history_dsn)
    written = mixed(namespace)

    async def fill() -> None:
        engine = engines.create(history_dsn)
        try:
            await writing.write(engine, written, T0)
        finally:
            await engine.dispose()

    asyncio.run(fill())
    return gateway_factory(history_dsn=history_dsn), written


def newest_first(
    written: list[records.Record], keep: Callable[[records.Record], bool]
) -> list[str]:
    """The UIDs `keep` selects, in the gateway's order: finish time, then write order, newest
    first."""
    ordered = sorted(enumerate(written), key=lambda p: (p[1].finished_at, p[0]), reverse=True)
    return [r.uid for _, r in ordered if keep(r)]


CASES: list[tuple[dict[str, Any], Callable[[records.Record], bool]]] = [
    ({}, lambda r: True),
    ({"phases": ["Failed"]}, lambda r: r.phase == "Failed"),
    ({"phases": ["Failed", "Cancelled"]}, lambda r: r.phase != "Succeeded"),
    ({"label_selector": "team=a"}, lambda r: r.labels["team"] == "a"),
    (
        {"label_selector": "team in (b,c),!gpu"},
        lambda r: r.labels["team"] in "bc" and "gpu" not in r.labels,
    ),
    ({"name_prefix": "sum-"}, lambda r: r.name.startswith("sum-")),
    (
        {"since": T0 - dt.timedelta(days=7), "until": T0 - dt.timedelta(days=2)},
        lambda r: T0 - dt.timedelta(days=7) <= r.finished_at < T0 - dt.timedelta(days=2),
    ),
    ({"queue": "q1"}, lambda r: r.queue == "q1"),
    (
        {"schedule": "nightly", "phases": ["Succeeded"]},
        lambda r: r.name.startswith("nightly-") and r.phase == "Succeeded",
    ),
]


def test_filters_and_pages_return_exactly_the_matching_records(archive, namespace: str) -> None:
    gw, written = archive
    with Client(gw.url, gw.key, namespace=namespace) as lt:
        for filters, keep in CASES:
            expected = newest_first(written, keep)
            assert expected, filters  # every case selects something
            for page_size in (7, 100):
                got = [t.uid for t in lt.history(page_size=page_size, **filters)]
                assert got == expected, (filters, page_size)
        first = lt.history_page(limit=10)
        assert len(first.items) == 10 and first.continue_
        second = lt.history_page(limit=10, continue_=first.continue_)
        assert [t.uid for t in first.items + second.items] == newest_first(written, bool)[:20]
        newest = first.items[0]
        assert newest.finished_at.tzinfo is not None and newest.archived_at == T0
        assert newest.duration_seconds == pytest.approx(240)

    async def async_failed() -> list[str]:
        async with AsyncClient(gw.url, gw.key, namespace=namespace) as lt:
            return [t.uid async for t in lt.history(phases=["Failed"], page_size=13)]

    assert asyncio.run(async_failed()) == newest_first(written, lambda r: r.phase == "Failed")


def test_one_record_comes_whole_and_a_missing_one_is_404(archive, namespace: str) -> None:
    gw, written = archive
    dead = next(r for r in written if r.phase == "Failed" and r.attempt == 3)
    with Client(gw.url, gw.key, namespace=namespace) as lt:
        record = lt.history_record(dead.uid)
        assert (record.name, record.phase, record.attempt) == (dead.name, "Failed", 3)
        assert [a.number for a in record.attempts] == [1, 2, 3]
        assert record.attempts[-1].message == "boom 3"
        assert record.dead_letter is not None and record.dead_letter.attempts == 3
        assert [(x.attempt, x.line) for x in record.log_tail] == [
            (1, f"line of {dead.name.split('-')[1]}")
        ]
        assert record.spec["params"] == {"n": 1} and record.params_digest == dead.params_digest
        with pytest.raises(NotFound):
            lt.history_record("no-such-uid")
        with pytest.raises(NotFound):
            lt.history_record(dead.uid, namespace="default")


def test_bad_history_queries_are_refused(archive, namespace: str) -> None:
    gw, _ = archive
    path = f"/v1/namespaces/{namespace}/history"
    with gw.client() as http:
        for query in (
            {"labelSelector": "a in b"},
            {"continue": "not-a-cursor"},
            {"phase": "Sleeping"},
            {"limit": "0"},
            {"since": "yesterday"},
        ):
            response = http.get(path, params=query)
            assert response.status_code == 422, (query, response.text)
            assert response.json()["error"] in ("invalid", "validation_error"), response.text


def test_the_cli_lists_and_shows_the_history(archive, namespace: str, stack) -> None:
    gw, written = archive
    env = stack.env | {"LONGTASK_GATEWAY_URL": gw.url, "LONGTASK_TOKEN": gw.key or ""}
    command = [str(stack.bin_dir / "longtask"), "history", "-n", namespace]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=60
        )

    # `--since` counts back from now: the records end at T0 (in the past), so use times.
    since = (T0 - dt.timedelta(days=3)).isoformat()
    done = run("--failed", "--since", since, "--limit", "500", "-o", "json")
    assert done.returncode == 0, done.stderr
    expected = newest_first(
        written, lambda r: r.phase == "Failed" and r.finished_at >= T0 - dt.timedelta(days=3)
    )
    assert [item["uid"] for item in json.loads(done.stdout)] == expected
    table = run("-l", "team=a", "--limit", "5")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "FINISHED",
        "NAME",
        "PHASE",
        "ATTEMPTS",
        "DURATION",
        "MESSAGE",
        "UID",
    ]
    assert [line.split()[-1] for line in lines[1:]] == newest_first(
        written, lambda r: r.labels["team"] == "a"
    )[:5]
    shown = run(expected[0])
    assert shown.returncode == 0, shown.stderr
    assert "Phase: Failed" in shown.stdout and "ATTEMPT" in shown.stdout
    assert "log lines:" in shown.stdout
    assert run("--since", "sometime").returncode == 2


def test_reading_the_history_needs_the_rights_to_read_longtasks(
    gateway_factory: GatewayFactory, namespace: str, k8s: client.ApiClient, tmp_path
) -> None:
    dsn = f"sqlite:///{tmp_path / 'history.db'}"
    migrating.upgrade(dsn)
    gw = gateway_factory(auth_mode="kubernetes", auth_cache_seconds="0", history_dsn=dsn)
    reader = account_token(k8s, namespace, "reader", ["get", "list"])
    nobody = account_token(k8s, namespace, "nobody", [])
    path = f"/v1/namespaces/{namespace}/history"

    def status(url: str, token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{gw.url}{url}", headers=headers, timeout=30).status_code

    assert status(path, nobody) == 403
    assert status(f"{path}/some-uid", nobody) == 403
    assert status(path, reader) == 200
    assert status(f"{path}/some-uid", reader) == 404
    assert status("/v1/namespaces/default/history", reader) == 403
    assert httpx.get(f"{gw.url}{path}", timeout=30).status_code == 401
