"""Benchmark 7, scale: N LongTasks present (finished, as a cluster's history would be).
Operator RSS and the time a restarted operator takes to settle, against the same operator with
no tasks (baseline); gateway list latency per page of 500 against listing the same objects
from the API server directly with the Kubernetes client.

"Settled" = the operator's metrics answer and its CPU use stayed under 5 % of a core for
QUIET_SECONDS; the settle time ends where that quiet window begins.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import httpx
from longtask.core import resource

from tests.bench import common
from tests.bench.context import Bench
from tests.fixtures.waiting import wait_for

PAGE = 500
THREADS = 16
QUIET_SECONDS = 3.0
QUIET_CORES = 0.05


def run(bench: Bench) -> common.Result:
    count = bench.size(10_000, 1_000)
    result = common.Result(
        "scale", "7. Scale: many LongTasks present", {"tasks": count, "page": PAGE}
    )
    for _ in range(bench.reps):
        _restart_operator(bench, result, "baseline: no tasks")
    with bench.namespace("scale", defer=True) as ns:
        began = time.monotonic()
        _fill(bench, ns, count)
        result.notes.append(
            f"Creating and finishing {count} tasks (2 writes each, operator paused) took "
            f"{time.monotonic() - began:.0f} s."
        )
        for _ in range(bench.reps):
            _restart_operator(bench, result, f"longtask, {count} tasks")
        for _ in range(bench.reps):
            _list(bench, ns, count, result)
    return result


def _fill(bench: Bench, namespace: str, count: int) -> None:
    """Creates `count` tasks and records them as succeeded, as the operator would have."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def one(i: int) -> None:
        name = f"done-{i}"
        bench.longtask(namespace, name, {"command": ["true"], "params": {"item": i}})
        status = {
            "phase": resource.Phase.SUCCEEDED.value,
            "progress": 100,
            "message": "done",
            "attempt": 1,
            "jobName": f"{name}-1",
            "startTime": now,
            "completionTime": now,
            "attempts": [
                {
                    "number": 1,
                    "jobName": f"{name}-1",
                    "start": now,
                    "finish": now,
                    "outcome": resource.AttemptOutcome.SUCCEEDED.value,
                    "reason": resource.Reason.COMPLETED.value,
                    "exitCode": 0,
                }
            ],
            "conditions": [
                {
                    "type": resource.ConditionType.SUCCEEDED.value,
                    "status": "True",
                    "reason": resource.Reason.COMPLETED.value,
                    "message": "the runner exited 0",
                    "lastTransitionTime": now,
                    "observedGeneration": 1,
                }
            ],
            "result": {"item": i},
            "observedGeneration": 1,
        }
        bench.custom.patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name, {"status": status}
        )

    with bench.paused("operator"), concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(count)))


def _operator_writes(bench: Bench) -> float:
    text = httpx.get(bench.stack.operator_metrics_url, timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("longtask_operator_api_writes_total")
    )


def _restart_operator(bench: Bench, result: common.Result, system: str) -> None:
    bench.stack.stop_component("operator")
    began = time.monotonic()
    bench.stack.start_operator()
    pid = bench.pid("operator")

    def metrics_up() -> bool:
        try:
            return httpx.get(bench.stack.operator_metrics_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(metrics_up, 300, "the operator's metrics")
    writes_before = _operator_writes(bench)
    quiet_since: float | None = None
    last_cpu, last_t = common.cpu_seconds(pid), time.monotonic()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.5)  # the sampling interval of the CPU meter
        cpu, now = common.cpu_seconds(pid), time.monotonic()
        busy = (cpu - last_cpu) / (now - last_t) > QUIET_CORES
        last_cpu, last_t = cpu, now
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = last_t
        elif now - quiet_since >= QUIET_SECONDS:
            break
    else:
        raise TimeoutError("the operator never settled")
    assert quiet_since is not None
    result.add("restarted operator: time to settle", system, "s", quiet_since - began)
    result.add("operator RSS, settled", system, "MiB", common.rss_mib(pid))
    result.add(
        "operator API writes while settling",
        system,
        "count",
        _operator_writes(bench) - writes_before,
    )


def _list(bench: Bench, namespace: str, count: int, result: common.Result) -> None:
    headers = {"Authorization": f"Bearer {bench.stack.token}"}
    with httpx.Client(base_url=bench.stack.gateway_url, headers=headers, timeout=60) as http:

        def gateway_page(token: str | None) -> tuple[int, str | None]:
            params: dict[str, Any] = {"limit": PAGE}
            if token:
                params["continue"] = token
            response = http.get(f"/v1/namespaces/{namespace}/tasks", params=params)
            response.raise_for_status()
            body = response.json()
            return len(body["items"]), body.get("continue") or None

        def direct_page(token: str | None) -> tuple[int, str | None]:
            body = bench.custom.list_namespaced_custom_object(
                resource.GROUP,
                resource.VERSION,
                namespace,
                resource.PLURAL,
                limit=PAGE,
                _continue=token or None,
            )
            return len(body["items"]), body["metadata"].get("continue") or None

        for system, page in (
            ("longtask gateway", gateway_page),
            ("baseline: Kubernetes client", direct_page),
        ):
            times, seen, token = [], 0, None
            began = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                items, token = page(token)
                times.append((time.perf_counter() - t0) * 1000)
                seen += items
                if not token:
                    break
            total = time.perf_counter() - began
            if seen != count:
                result.notes.append(f"{system} listed {seen} of {count} tasks")
            result.add("list: per page of 500, p50", system, "ms", common.percentile(times, 50))
            result.add("list: per page of 500, p99", system, "ms", common.percentile(times, 99))
            result.add("list: all tasks", system, "s", total)
