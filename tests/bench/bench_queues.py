"""Benchmark 9, queues: 1,000 LongTasks into one LongTaskQueue of maxRunning 50, against the
same 1,000 without a queue (same-run baseline). Time until all succeeded, the operator's CPU and
its Kubernetes API writes per task (per admitted task with the queue), Redis commands, and the
most live attempts seen (from the Jobs' own times).

Tasks run `true` on the local node (each pod is a process), so the drain is bounded by starting
pods on two cores: the baseline starts all of them at once, the queue 50 at a time.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import httpx
import urllib3
from kubernetes import client
from longtask.core import taskqueue

from tests.bench import common
from tests.bench.context import Bench
from tests.fixtures.waiting import wait_for
from tests.integration.queues.conftest import job_intervals, max_overlap

THREADS = 16


def run(bench: Bench) -> common.Result:
    count = bench.size(1000, 100)
    limit = bench.size(50, 10)
    result = common.Result(
        "queues",
        "9. Queues: 1,000 tasks into one queue of maxRunning 50",
        {"tasks": count, "maxRunning": limit, "threads": THREADS},
    )
    # One repetition of each: a drain of 1,000 real pods takes minutes on two cores.
    _drain(bench, count, None, result)
    _drain(bench, count, limit, result)
    result.notes.append(
        "Each task runs `true`; writes are the operator's own count "
        "(longtask_operator_api_writes_total: Job creates, status patches, queue status "
        "patches, Events, Secrets). Live attempts from the Jobs' creation and terminal times."
    )
    return result


def operator_writes(bench: Bench) -> dict[str, float]:
    """The operator's own count of its API writes so far, by verb."""
    text = httpx.get(bench.stack.operator_metrics_url, timeout=5).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("longtask_operator_api_writes_total{"):
            verb = line.split('verb="', 1)[1].split('"', 1)[0]
            out[verb] = float(line.rsplit(" ", 1)[1])
    return out


def _create_queue(bench: Bench, namespace: str, limit: int) -> None:
    body = {
        "apiVersion": taskqueue.API_VERSION,
        "kind": taskqueue.KIND,
        "metadata": {"name": "bench"},
        "spec": {"maxRunning": limit},
    }
    bench.custom.create_namespaced_custom_object(
        taskqueue.GROUP, taskqueue.VERSION, namespace, taskqueue.PLURAL, body
    )


def _drain(bench: Bench, count: int, limit: int | None, result: common.Result) -> None:
    system = "baseline: no queue" if limit is None else f"queue, maxRunning {limit}"
    with bench.namespace("queues", defer=True) as ns:
        spec: dict[str, Any] = {"command": ["true"]}
        if limit is not None:
            _create_queue(bench, ns, limit)
            spec["queue"] = "bench"
        pid = bench.pid("operator")
        writes0, cpu0 = operator_writes(bench), common.cpu_seconds(pid)
        redis0 = common.redis_commands(bench.redis)
        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda i: bench.longtask(ns, f"q{i}", spec), range(count)))

        def succeeded() -> bool:
            try:
                phases = [(t.get("status") or {}).get("phase") for t in bench.tasks(ns)]
            except (client.ApiException, urllib3.exceptions.HTTPError):
                # A loaded API server may time a list of 1,000 out, or cut it: look again.
                return False
            return phases.count("Succeeded") == count

        wait_for(succeeded, 2400, f"{count} tasks to succeed ({system})", 2.0)
        elapsed = time.monotonic() - began
        cpu = common.cpu_seconds(pid) - cpu0
        writes1 = operator_writes(bench)
        redis = common.redis_commands(bench.redis) - redis0
        jobs = list(bench.batch.list_namespaced_job(ns).items)
        most = max_overlap(job_intervals(jobs))
    writes = {v: writes1.get(v, 0.0) - writes0.get(v, 0.0) for v in writes1}
    total = sum(writes.values())
    result.add("time until all succeeded", system, "s", elapsed)
    result.add("operator CPU per task", system, "ms", cpu * 1000 / count)
    result.add("operator API writes per task", system, "1", total / count)
    result.add(
        "  of which status patches per task", system, "1", writes.get("patch_status", 0) / count
    )
    result.add("  of which queue status patches", system, "1", writes.get("patch_queue_status", 0))
    result.add("Redis commands per task (all clients)", system, "1", redis / count)
    result.add("most live attempts at once", system, "1", most, "≤ maxRunning with the queue")
