"""Benchmark of the operator's in-memory costs (not run by `make test`).

1. Memory held per LongTask by the operator's store, 10,000 tasks with 4 KiB of params each (half
   finished), next to a baseline that keeps the bodies as watched (managedFields and the
   last-applied annotation included).
2. CPU the operator spends per runner progress patch (the store update and a reconcile that
   decides to write nothing), next to a baseline of one deep copy of the body.
3. API writes per task through the whole success path, counted by the controller over an
   in-process API stand-in (the integration test checks the same numbers on the real cluster).

    .venv/bin/python -m tests.bench.bench_operator [--tasks 10000] [--reps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import copy
import gc
import json
import time
import tracemalloc
from collections.abc import Mapping
from typing import Any, cast

from longtask.core import resource
from longtask.operator import publishing
from longtask.operator.controller import Controller
from longtask.operator.kube import Kube
from longtask.operator.metrics import Metrics
from longtask.operator.settings import Settings
from longtask.operator.store import Store

from tests.bench import common


def body(index: int, finished: bool) -> dict[str, Any]:
    spec = {"command": ["python3", "-m", "work"], "params": {"blob": "x" * 4096, "i": index}}
    status: dict[str, Any] = {
        "phase": "Succeeded" if finished else "Running",
        "attempt": 1,
        "progress": 100 if finished else 40,
        "attempts": [{"number": 1, "jobName": f"t{index}-1", "start": "2026-01-01T00:00:00Z"}],
        "conditions": [{"type": "Running", "status": "True", "reason": "PodRunning"}],
    }
    if finished:
        status["result"] = {"summary": "y" * 1024}
    return {
        "apiVersion": resource.API_VERSION,
        "kind": resource.KIND,
        "metadata": {
            "name": f"t{index}",
            "namespace": "bench",
            "uid": f"uid-{index}",
            "generation": 1,
            "resourceVersion": str(index + 10),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"x": {}}}}] * 3,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "z" * 4300},
        },
        "spec": spec,
        "status": status,
    }


def held_bytes(fill: Any) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = fill()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del keep
    return float(after - before)


class StandIn:
    """The API calls the controller makes, answered in memory."""

    def __init__(self) -> None:
        self.writes: collections.Counter[str] = collections.Counter()
        self.tasks: dict[str, dict[str, Any]] = {}

    async def service_account_exists(self, namespace: str, name: str) -> bool:
        return True

    async def create_job(self, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
        self.writes["create_job"] += 1
        return {"metadata": dict(manifest["metadata"]), "status": {}}

    async def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    async def list_pods(self, namespace: str, job_name: str) -> list[dict[str, Any]]:
        return []

    async def patch_status(
        self, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        self.writes["patch_status"] += 1
        task = self.tasks[name]
        task["status"] = {**task.get("status", {}), **copy.deepcopy(dict(patch))}
        task["metadata"]["resourceVersion"] = str(int(task["metadata"]["resourceVersion"]) + 1)
        return copy.deepcopy(task)

    async def post_event(self, task: Mapping[str, Any], kind: str, reason: str, msg: str) -> None:
        self.writes["create_event"] += 1


async def success_path_writes(count: int) -> tuple[float, float]:
    """API writes per task and reconciles per second for `count` tasks from new to Succeeded."""
    stand_in = StandIn()
    controller = Controller(Settings(), cast(Kube, stand_in), publishing.Publisher(""), Metrics())
    started = time.perf_counter()
    reconciles = 0
    for index in range(count):
        task = body(index, finished=False)
        task["status"] = {}
        stand_in.tasks[task["metadata"]["name"]] = task
        controller.task_event("ADDED", task)
        key = ("bench", task["metadata"]["name"])
        job_meta: dict[str, Any] = {
            "name": f"t{index}-1",
            "namespace": "bench",
            "uid": f"job-{index}",
            "resourceVersion": "1",
            "labels": {resource.LABEL_UID: f"uid-{index}", resource.LABEL_NAME: f"t{index}"},
        }
        for job_status in (
            None,
            {"active": 1, "ready": 1},
            {"conditions": [{"type": "Complete", "status": "True"}]},
        ):
            if job_status is not None:
                job_meta["resourceVersion"] = str(int(job_meta["resourceVersion"]) + 1)
                controller.job_event("MODIFIED", {"metadata": job_meta, "status": job_status})
            await controller.handle(key)
            reconciles += 1
    elapsed = time.perf_counter() - started
    return sum(stand_in.writes.values()) / count, reconciles / elapsed


async def progress_cost(count: int) -> float:
    """Microseconds per runner progress patch seen by the operator (update + no-op reconcile)."""
    stand_in = StandIn()
    controller = Controller(Settings(), cast(Kube, stand_in), publishing.Publisher(""), Metrics())
    task = body(0, finished=False)
    job = {
        "metadata": {
            "name": "t0-1",
            "namespace": "bench",
            "uid": "job-0",
            "resourceVersion": "1",
            "labels": {resource.LABEL_UID: "uid-0", resource.LABEL_NAME: "t0"},
        },
        "status": {"active": 1, "ready": 1},
    }
    controller.job_event("ADDED", job)
    started = time.perf_counter()
    for step in range(count):
        task["status"]["progress"] = step % 100
        task["metadata"]["resourceVersion"] = str(100 + step)
        controller.task_event("MODIFIED", task)
        await controller.handle(("bench", "t0"))
    elapsed = time.perf_counter() - started
    assert sum(stand_in.writes.values()) == 0, stand_in.writes
    return elapsed / count * 1e6


def deepcopy_cost(count: int) -> float:
    task = body(0, finished=False)
    started = time.perf_counter()
    for _ in range(count):
        copy.deepcopy(task)
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    began = time.monotonic()
    result = common.Result(
        name="operator",
        title="Operator: memory per LongTask, CPU per progress patch, API writes per task",
        sizes={"tasks": args.tasks, "params_bytes": 4096, "reps": args.reps},
    )
    # As the watch delivers them: parsed from JSON, so no two bodies share their strings.
    texts = [json.dumps(body(i, finished=i % 2 == 0)) for i in range(args.tasks)]
    for _ in range(args.reps):

        def fill_store() -> Store:
            store = Store()
            for text in texts:
                store.put_task(json.loads(text))
            return store

        slim = held_bytes(fill_store)
        full = held_bytes(lambda: [json.loads(text) for text in texts])
        result.add("memory per task", "longtask store", "KiB", slim / args.tasks / 1024)
        result.add(
            "memory per task", "baseline: bodies as watched", "KiB", full / args.tasks / 1024
        )
        result.add(
            "operator CPU per progress patch",
            "longtask",
            "µs",
            asyncio.run(progress_cost(5000)),
            "0 writes",
        )
        result.add(
            "operator CPU per progress patch",
            "baseline: deepcopy of the body",
            "µs",
            deepcopy_cost(5000),
        )
        writes, rate = asyncio.run(success_path_writes(min(args.tasks, 2000)))
        result.add("API writes per succeeded task", "longtask", "writes", writes, "<= 7")
        result.add("reconciles per second (one worker)", "longtask", "/s", rate)
    result.notes.append(
        "Writes per succeeded task: 1 Job create + 3 status patches (Pending, Running, "
        "Succeeded) + 3 Events; each retry adds 1 Job + 3 patches + 3 Events. Runner progress "
        "patches cost the operator no writes."
    )
    result.notes.append(
        "Half of the tasks are finished: the store keeps no params, command or result for them."
    )
    result.seconds = time.monotonic() - began
    path = common.write(result, common.machine())
    print(path.read_text())


if __name__ == "__main__":
    main()
