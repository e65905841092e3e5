"""Metrics from transitions, and gauges computed from the store."""

from __future__ import annotations

import datetime as dt

from longtask.core.resource import Phase, Reason
from longtask.operator.metrics import Metrics
from longtask.operator.reconcile import Transition
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.operator import make_task

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)  # the task was created at 11:59


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_transitions_count_submitted_retries_finished_and_dead_letters() -> None:
    metrics = Metrics()
    task = make_task()
    metrics.record(task, [Transition(None, Phase.PENDING, Reason.JOB_CREATED, "", 1)], NOW)
    metrics.record(task, [Transition(Phase.PENDING, Phase.RUNNING, Reason.POD_RUNNING, "", 1)], NOW)
    metrics.record(task, [Transition(Phase.RUNNING, Phase.RETRYING, Reason.BACKOFF, "", 1)], NOW)
    metrics.record(
        task, [Transition(Phase.RUNNING, Phase.FAILED, Reason.ATTEMPTS_EXHAUSTED, "", 2)], NOW
    )
    got = samples(metrics)
    ns = (("namespace", "ns"),)
    assert got[("longtask_tasks_submitted_total", ns)] == 1
    assert got[("longtask_task_retries_total", ns)] == 1
    assert got[("longtask_dead_letters_total", ns)] == 1
    assert got[("longtask_tasks_finished_total", (("namespace", "ns"), ("outcome", "Failed")))] == 1
    assert got[("longtask_task_queue_seconds_sum", ns)] == 60
    assert got[("longtask_task_duration_seconds_sum", ns)] == 60


def test_admissions_count_only_starts_a_queue_admitted() -> None:
    metrics = Metrics()
    task = make_task(spec={"command": ["x"], "queue": "q"})
    start = [Transition(None, Phase.PENDING, Reason.JOB_CREATED, "", 1)]
    metrics.record(task, start, NOW)  # its queue does not exist: it started at once
    admissions = ("longtask_queue_admissions_total", (("namespace", "ns"), ("queue", "q")))
    assert samples(metrics).get(admissions, 0) == 0
    metrics.record(task, start, NOW, admitted_by="q")
    assert samples(metrics)[admissions] == 1


def test_gauges_follow_the_store_including_zeros() -> None:
    metrics = Metrics()
    stalled = [{"type": "Stalled", "status": "True"}]
    tasks = [
        make_task("a", status={"phase": "Running", "conditions": stalled}),
        make_task("b", status={"phase": "Running"}),
        make_task("c", status={"phase": "Pending"}),
        make_task("d", namespace="other", status={"phase": "Succeeded"}),
    ]
    metrics.watch_state(lambda: tasks, lambda: {"patch_status": 7})
    got = samples(metrics)
    assert got[("longtask_tasks_running", (("namespace", "ns"),))] == 2
    assert got[("longtask_tasks_stalled", (("namespace", "ns"),))] == 1
    assert got[("longtask_tasks_pending", (("namespace", "ns"),))] == 1
    assert got[("longtask_tasks_running", (("namespace", "other"),))] == 0
    assert got[("longtask_operator_api_writes_total", (("verb", "patch_status"),))] == 7
