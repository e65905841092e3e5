"""Acceptance of the archive on the real control plane, local node, Redis and operator, on
SQLite and on PostgreSQL: every finished task is in the history after its TTL deleted it, once;
an outage of the database holds deletions and loses nothing; neither does a SIGKILL of the
operator between a task's end and its record's commit."""

from __future__ import annotations

import time

from kubernetes import client
from longtask.core import metrics

from tests.fixtures.history import HistoryOperator
from tests.fixtures.operator import Tasks
from tests.fixtures.waiting import wait_for

SHORT_TTL = 1
OUTAGE_SECONDS = 60


def gone(tasks: Tasks, names: list[str]) -> bool:
    return not any(tasks.exists(name) for name in names)


def test_succeeded_dead_lettered_and_cancelled_tasks_are_found_after_their_ttl(
    history_operator: HistoryOperator, k8s: client.ApiClient
) -> None:
    tasks = Tasks(k8s, history_operator.namespace)
    ttl = {"ttlSecondsAfterFinished": SHORT_TTL}
    created = {
        "ok": tasks.create(
            "ok",
            {"command": ["sh", "-c", "echo hello; echo '::progress 50 half'; echo bye"], **ttl},
        ),
        "dead": tasks.create(
            "dead",
            {
                "command": ["sh", "-c", 'echo "try $LONGTASK_ATTEMPT"; exit 1'],
                "retry": {"maxAttempts": 2, "backoff": {"initialSeconds": 1, "jitter": False}},
                **ttl,
            },
        ),
        "stop": tasks.create("stop", {"command": ["sleep", "120"], **ttl}),
    }
    uids = {name: task["metadata"]["uid"] for name, task in created.items()}
    tasks.wait_phase("stop", {"Running"}, 60)
    tasks.patch_spec("stop", {"cancel": True})
    wait_for(lambda: gone(tasks, list(uids)), 120, "the three tasks deleted by their TTL")

    ok = history_operator.detail(uids["ok"])
    assert ok is not None and ok.entry.phase == "Succeeded" and ok.entry.name == "ok"
    assert [(a.number, a.outcome, a.exit_code) for a in ok.attempts] == [(1, "Succeeded", 0)]
    assert [line.line for line in ok.log_tail] == ["hello", "bye"]
    assert ok.entry.finished_at >= ok.entry.started_at  # type: ignore[operator]

    dead = history_operator.detail(uids["dead"])
    assert dead is not None and dead.entry.phase == "Failed"
    assert dead.entry.reason == "AttemptsExhausted" and dead.entry.attempt == 2
    assert [(a.number, a.outcome) for a in dead.attempts] == [(1, "Failed"), (2, "Failed")]
    assert dead.dead_letter is not None and dead.dead_letter["attempts"] == 2
    assert [(line.attempt, line.line) for line in dead.log_tail] == [(1, "try 1"), (2, "try 2")]

    stop = history_operator.detail(uids["stop"])
    assert stop is not None and stop.entry.phase == "Cancelled"
    assert stop.entry.reason == "CancelRequested"
    assert [(a.number, a.outcome) for a in stop.attempts] == [(1, "Cancelled")]
    assert sorted(r[0] for r in history_operator.records()) == sorted(uids.values())


def test_a_database_outage_holds_deletions_and_loses_nothing(
    history_operator: HistoryOperator, k8s: client.ApiClient
) -> None:
    operator, tasks = history_operator.process, Tasks(k8s, history_operator.namespace)
    names = [f"t{i:02d}" for i in range(20)]
    with history_operator.outage():
        began = time.monotonic()
        uids = {
            tasks.create(n, {"command": ["true"], "ttlSecondsAfterFinished": SHORT_TTL})[
                "metadata"
            ]["uid"]
            for n in names
        }
        for name in names:
            tasks.wait_final(name, 60)
        operator.wait_metric(metrics.HISTORY_DELETIONS_WAITING, 20, timeout=30)
        # Until the database returns, every task stays (checked all along the outage).
        while time.monotonic() - began < OUTAGE_SECONDS:
            assert all(tasks.exists(n) for n in names), "a task was deleted during the outage"
            time.sleep(1)
        assert operator.metric(metrics.HISTORY_WRITE_FAILURES) > 0
        assert operator.metric(metrics.HISTORY_ARCHIVE_LAG) > 0
    wait_for(lambda: gone(tasks, names), 120, "the 20 tasks deleted once archived")
    found = history_operator.records()
    assert sorted(r[0] for r in found) == sorted(uids)  # all 20, each exactly once
    assert {r[2] for r in found} == {"Succeeded"}
    operator.wait_metric(metrics.HISTORY_DELETIONS_WAITING, 0)
    operator.wait_metric(metrics.HISTORY_ARCHIVE_LAG, 0)


def test_an_operator_killed_between_finishing_and_archiving_loses_and_doubles_nothing(
    history_operator: HistoryOperator, k8s: client.ApiClient
) -> None:
    operator, tasks = history_operator.process, Tasks(k8s, history_operator.namespace)
    quick = {"command": ["true"]}
    # Archived before the kill, kept (long TTL): the restarted operator must not write them again.
    early = [
        tasks.create(f"early-{i}", {**quick, "ttlSecondsAfterFinished": 3600}) for i in range(5)
    ]
    for task in early:
        tasks.wait_final(task["metadata"]["name"])
    wait_for(lambda: len(history_operator.records()) == 5, 60, "the early tasks archived")
    with history_operator.outage():
        late = [
            tasks.create(f"late-{i}", {**quick, "ttlSecondsAfterFinished": SHORT_TTL})
            for i in range(10)
        ]
        kept = [tasks.create(f"kept-{i}", quick) for i in range(5)]  # no TTL at all
        for task in late + kept:
            tasks.wait_final(task["metadata"]["name"])
        operator.kill()
    assert len(history_operator.records()) == 5
    assert all(tasks.exists(t["metadata"]["name"]) for t in late)
    operator.start()
    late_names = [t["metadata"]["name"] for t in late]
    wait_for(lambda: gone(tasks, late_names), 120, "the late tasks archived, then deleted")
    wait_for(lambda: len(history_operator.records()) >= 20, 60, "every task archived")
    found = history_operator.records()
    expected = sorted(t["metadata"]["uid"] for t in early + late + kept)
    assert sorted(r[0] for r in found) == expected  # none missing, none twice
    assert all(tasks.exists(t["metadata"]["name"]) for t in early + kept)
