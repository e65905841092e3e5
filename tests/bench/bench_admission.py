"""Benchmark 1, admission: 1,000 LongTasks created at once → time until every one has its Job;
baseline: the same client creating 1,000 bare Jobs. Then create → Job latency at a steady
20 tasks/s. Then the burst again with the operator restarted without per-task Redis users
(`LONGTASK_REDIS_TASK_USERS=false`: no Secret and no ACL user per task), which says what that
isolation costs admission.

What is measured ends at the Job, so nothing downstream of it runs: the controller manager is
stopped (no Job controller making pods, which is the same work for both and took the cores
from the next measurement: 6,000 pods at ~10/s) and so is the local node. The API server,
etcd, the operator and the client have the two cores. The stack goes away after the benchmark,
so neither is started again.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from typing import Any, cast

from longtask.core import resource
from longtask.operator import jobs, settings

from tests.bench import common
from tests.bench.bench_queues import operator_writes
from tests.bench.context import Bench
from tests.bench.watching import Stamps
from tests.fixtures.waiting import wait_for

THREADS = 16
WITHOUT_USERS = "longtask, no per-task Redis users"
CONTROL_PLANE = ("kube-apiserver", "etcd")  # the controller manager is stopped (see above)


def _task_spec() -> dict[str, Any]:
    return {"command": ["true"]}


def _bare_job(namespace: str, name: str) -> dict[str, Any]:
    """The Job the operator would build for the same task (same size, same pod template)."""
    task = cast(
        resource.LongTask,
        {
            "metadata": {"name": name, "namespace": namespace, "uid": f"bench-{name}"},
            "spec": _task_spec(),
        },
    )
    job = jobs.build_job(task, 1, settings.Settings())
    job["metadata"].pop("ownerReferences")
    job["metadata"]["name"] = name
    # Without the label the operator watches Jobs by, so that it does not read the baseline's
    # Jobs (it did: their events took the operator's CPU from the cores the baseline used).
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        labels.pop(resource.LABEL_MANAGED_BY)
    return job


def _control_plane_cpu(bench: Bench) -> float:
    return sum(common.cpu_seconds(bench.pid(name)) for name in CONTROL_PLANE)


def _burst(bench: Bench, count: int, create: Any) -> float:
    """Seconds from the first create to the last Job seen (creates from THREADS threads)."""
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        began = time.time()
        list(pool.map(create, range(count)))
    return began


def run(bench: Bench) -> common.Result:
    count = bench.size(1000, 100)
    rate, seconds = 20.0, bench.size(15, 5)
    result = common.Result(
        "admission",
        "1. Admission: LongTasks → Jobs",
        {"burst": count, "steady_rate": rate, "steady_seconds": seconds, "threads": THREADS},
    )
    for name in ("kube-controller-manager", "localnode"):
        bench.stack.stop_component(name)
    for _ in range(bench.reps):
        _longtask_burst(bench, count, result)
        _bare_burst(bench, count, result)
        _steady(bench, rate, seconds, result)
        # In each repetition, so that it meets as many objects of the bursts before it as the
        # others do (a later burst is slower: etcd, the caches and the operator's store grow).
        _restart_operator(bench, {"LONGTASK_REDIS_TASK_USERS": "false"})
        _longtask_burst(bench, count, result, WITHOUT_USERS)
        _restart_operator(bench, {})
    result.notes.append(
        "The controller manager and the local node are stopped (no pods are made): the API "
        "server, etcd, the operator and the client share the two cores. Control plane CPU: "
        "kube-apiserver and etcd, from the first create until the last Job (and, for "
        "longtask, every task's status patch)."
    )
    result.notes.append(
        f"{WITHOUT_USERS}: the same burst after the steady phase of each repetition, the "
        "operator restarted with LONGTASK_REDIS_TASK_USERS=false (every pod gets the runner's "
        "Redis URL as it is: no tenancy in Redis, see docs/tenancy.md), then restarted as it "
        "was for the next repetition."
    )
    return result


def _restart_operator(bench: Bench, env: dict[str, str]) -> None:
    """Restarts the operator with `env` added (none: as the stack starts it), and waits until
    it has settled: it has taken the lease, read the earlier bursts' tasks and Jobs again, and
    its CPU is idle."""
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the stack starts the operator with os.environ and its own
    try:
        bench.stack.restart("operator")
    finally:  # the benchmarks after this one run with the environment of before
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    with (
        bench.namespace("adm-ready", defer=True) as ns,
        Stamps(bench.batch.list_namespaced_job, (ns,)) as seen,
    ):
        bench.longtask(ns, "ready", _task_spec())
        wait_for(lambda: seen.count() >= 1, 120, "a Job from the restarted operator", 0.1)
    pid = bench.pid("operator")
    last = [common.cpu_seconds(pid), time.monotonic()]

    def idle() -> bool:
        cpu, now = common.cpu_seconds(pid), time.monotonic()
        busy = (cpu - last[0]) / (now - last[1])
        last[:] = [cpu, now]
        return busy < 0.1

    wait_for(idle, 120, "the restarted operator idle", 1.0)


def _longtask_burst(
    bench: Bench, count: int, result: common.Result, system: str = "longtask"
) -> None:
    lists = common.apiserver_requests(bench.stack.kubectl, "pods", "LIST")
    pid = bench.pid("operator")
    writes0, cpu0 = operator_writes(bench), common.cpu_seconds(pid)
    plane0 = _control_plane_cpu(bench)
    with (
        bench.namespace("adm", defer=True) as ns,
        Stamps(bench.batch.list_namespaced_job, (ns,)) as seen,
    ):
        began = _burst(bench, count, lambda i: bench.longtask(ns, f"t{i}", _task_spec()))
        wait_for(lambda: seen.count() >= count, 600, "a Job for every task", 0.05)
        elapsed = max(seen.seen.values()) - began
        result.add(
            "burst: tasks with a Job per second",
            system,
            "1/s",
            count / elapsed,
            "≥ 100/s and ≥ 0.5x baseline" if system == "longtask" else "",
        )
        result.add("burst: time until the last Job", system, "s", elapsed)
        # Pending pods once made the operator list them every 2 s per task; now none are listed.
        lists = common.apiserver_requests(bench.stack.kubectl, "pods", "LIST") - lists
        result.add("burst: pod LIST requests per second", system, "1/s", lists / elapsed)

        def patched() -> bool:  # each task's status patch to Pending (and its Event, if any)
            done = operator_writes(bench).get("patch_status", 0) - writes0.get("patch_status", 0)
            return done >= count

        wait_for(patched, 120, "every task's status patch", 0.2)
        cpu = common.cpu_seconds(pid) - cpu0
        plane = _control_plane_cpu(bench) - plane0
        writes1 = operator_writes(bench)
        writes = {v: writes1[v] - writes0.get(v, 0.0) for v in writes1}
        per_task = sum(writes.values()) / count
        result.add("burst: operator API writes per task", system, "1", per_task)
        for verb in ("create_secret", "create_job", "patch_status", "create_event"):
            label = f"  of which {verb.replace('_', ' ')}"
            result.add(label, system, "1", writes.get(verb, 0.0) / count)
        result.add("burst: operator CPU per task", system, "ms", cpu * 1000 / count)
        result.add("burst: control plane CPU per task", system, "ms", plane * 1000 / count)


def _bare_burst(bench: Bench, count: int, result: common.Result) -> None:
    plane0 = _control_plane_cpu(bench)
    with (
        bench.namespace("adm-base", defer=True) as ns,
        Stamps(bench.batch.list_namespaced_job, (ns,)) as seen,
    ):
        began = _burst(
            bench,
            count,
            lambda i: bench.batch.create_namespaced_job(ns, _bare_job(ns, f"j{i}")),  # type: ignore[arg-type]
        )
        wait_for(lambda: seen.count() >= count, 600, "every bare Job", 0.05)
        elapsed = max(seen.seen.values()) - began
        result.add(
            "burst: tasks with a Job per second", "baseline: bare Jobs", "1/s", count / elapsed
        )
        result.add("burst: time until the last Job", "baseline: bare Jobs", "s", elapsed)
        plane = _control_plane_cpu(bench) - plane0
        result.add(
            "burst: control plane CPU per task", "baseline: bare Jobs", "ms", plane * 1000 / count
        )


def _steady(bench: Bench, rate: float, seconds: float, result: common.Result) -> None:
    total = int(rate * seconds)
    created: dict[str, float] = {}
    with (
        bench.namespace("adm-steady", defer=True) as ns,
        Stamps(bench.batch.list_namespaced_job, (ns,)) as seen,
        concurrent.futures.ThreadPoolExecutor(THREADS) as pool,
    ):
        start = time.monotonic()

        def create(i: int) -> None:
            created[f"s{i}-1"] = time.time()
            bench.longtask(ns, f"s{i}", _task_spec())

        futures = []
        for i in range(total):
            # An open-loop schedule: a slow answer does not slow the offered rate.
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(create, i))
        for future in futures:
            future.result()
        wait_for(lambda: seen.count() >= total, 300, "a Job for every steady task", 0.05)
        latencies = [(seen.seen[name] - t) * 1000 for name, t in created.items()]
    result.add("steady 20/s: create → Job p50", "longtask", "ms", common.percentile(latencies, 50))
    result.add("steady 20/s: create → Job p99", "longtask", "ms", common.percentile(latencies, 99))
