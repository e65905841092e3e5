"""Benchmark 2, end to end: N small tasks (command `true`) submitted at once through the
gateway and run by the local node: submit → Succeeded p50/p99 and throughput. Baseline: N bare
Jobs running `true` (create → Complete), the same local node and Job controller without
longtask. The local node's process start cost is reported on its own: how long one
`longtask-runner` process (and one `true`) takes from spawn to exit on this machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from typing import Any

import httpx
from longtask.core import resource, runnerenv

from tests.bench import common
from tests.bench.bench_admission import _bare_job
from tests.bench.context import Bench
from tests.bench.watching import Stamps
from tests.fixtures.waiting import wait_for

CONCURRENCY = 16
SPAWNS = 5


def run(bench: Bench) -> common.Result:
    count = bench.size(200, 20)
    result = common.Result(
        "e2e",
        "2. End to end: submit → Succeeded through the local node",
        {"tasks": count, "submit_concurrency": CONCURRENCY, "spawns": SPAWNS},
    )
    for _ in range(bench.reps):
        _longtask(bench, count, result)
        _bare(bench, count, result)
        _spawn_cost(bench, result)
    bench.cleanup()
    result.notes.append(
        "Every task is one pod = one local process (the runner, which runs `true`); the "
        "local node starts them all at once on the two cores."
    )
    return result


def _longtask(bench: Bench, count: int, result: common.Result) -> None:
    succeeded = resource.Phase.SUCCEEDED.value

    def done(obj: Any) -> bool:
        return bool((obj.get("status") or {}).get("phase") == succeeded)

    lister = bench.custom.list_namespaced_custom_object
    with (
        bench.namespace("e2e", defer=True) as ns,
        Stamps(lister, (resource.GROUP, resource.VERSION, ns, resource.PLURAL), done) as seen,
    ):
        submitted = asyncio.run(_submit(bench, ns, count))
        wait_for(lambda: seen.count() >= count, 900, "every task to succeed", 0.1)
        latencies = [seen.seen[name] - t for name, t in submitted.items()]
        span = max(seen.seen.values()) - min(submitted.values())
    result.add("submit → Succeeded p50", "longtask", "s", common.percentile(latencies, 50))
    result.add("submit → Succeeded p99", "longtask", "s", common.percentile(latencies, 99))
    result.add("throughput", "longtask", "tasks/s", count / span)


async def _submit(bench: Bench, namespace: str, count: int) -> dict[str, float]:
    submitted: dict[str, float] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Bearer {bench.stack.token}"}
    async with httpx.AsyncClient(base_url=bench.stack.gateway_url, headers=headers) as http:

        async def one(i: int) -> None:
            async with gate:
                name = f"e{i}"
                submitted[name] = time.time()
                response = await http.post(
                    f"/v1/namespaces/{namespace}/tasks",
                    json={"name": name, "command": ["true"]},
                    timeout=60,
                )
                response.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(count)))
    return submitted


def _bare(bench: Bench, count: int, result: common.Result) -> None:
    def complete(job: Any) -> bool:
        return any(c.type == "Complete" and c.status == "True" for c in job.status.conditions or [])

    with (
        bench.namespace("e2e-base", defer=True) as ns,
        Stamps(bench.batch.list_namespaced_job, (ns,), complete) as seen,
    ):
        created: dict[str, float] = {}
        for i in range(count):
            job = _bare_job(ns, f"b{i}")
            container = job["spec"]["template"]["spec"]["containers"][0]
            container["command"] = ["true"]
            container["env"] = []
            created[f"b{i}"] = time.time()
            bench.batch.create_namespaced_job(ns, job)  # type: ignore[arg-type]
        wait_for(lambda: seen.count() >= count, 900, "every bare Job to complete", 0.1)
        latencies = [seen.seen[name] - t for name, t in created.items()]
        span = max(seen.seen.values()) - min(created.values())
    system = "baseline: bare Jobs running `true`"
    result.add("submit → Succeeded p50", system, "s", common.percentile(latencies, 50))
    result.add("submit → Succeeded p99", system, "s", common.percentile(latencies, 99))
    result.add("throughput", system, "tasks/s", count / span)


def _spawn_cost(bench: Bench, result: common.Result) -> None:
    """Wall time of one process from spawn to exit, as the local node starts a container."""
    runner_env = os.environ | {
        "PATH": f"{bench.stack.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        runnerenv.COMMAND: json.dumps(["true"]),
    }
    for label, argv, env in (
        ("process start: longtask-runner running `true`", ["longtask-runner"], runner_env),
        ("process start: `true`", ["true"], dict(os.environ)),
    ):
        times = []
        for _ in range(SPAWNS):
            began = time.perf_counter()
            subprocess.run(argv, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - began)
        result.add(label, "local node", "ms", common.percentile(times, 50) * 1000)
