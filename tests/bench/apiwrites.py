"""What each API write of an admitted task costs the API server and etcd, and where their CPU goes.

    python -m tests.bench.apiwrites [--count 1000] [--watchers] [--profile SECONDS]

On a local stack of its own (the controller manager and the local node stopped, as in the
admission benchmark), from the admission benchmark's 16 threads, `count` of each write an
admitted task makes, in order, each in its own timed window: the client's LongTask create, the
operator's Secret (`jobs.build_redis_secret`), its Job (`jobs.build_job`) and its status
merge-patch to Pending (the one the operator wrote for a sample task, read back), then the
admission benchmark's bare Job. The writes go out as the operator sends them: JSON, with its
field manager, and the answers are not decoded. kube-apiserver's and etcd's CPU come from /proc
as `common.cpu_seconds` reads them, less their idle rate. `--watchers` first opens the watches
the operator holds while the writes run (every LongTask, the Jobs it labels) and reads them
without decoding. `--profile` first runs the admission benchmark's burst with the operator and
takes a Go CPU profile of kube-apiserver over it (`/debug/pprof/profile`; the stack's API
server is restarted with `--profiling=true` for it) and prints its top entries
(`results/profiles/admission-apiserver.md` keeps one run's).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import urllib3
from kubernetes import client
from longtask.core import resource
from longtask.devstack.stack import Stack
from longtask.operator import jobs, settings

from tests.bench import common
from tests.bench.bench_admission import THREADS, _bare_job, _task_spec
from tests.bench.context import api_client
from tests.fixtures.waiting import wait_for

PLANE = ("kube-apiserver", "etcd")
FIELD_MANAGER = "longtask-operator"
MERGE_PATCH = "application/merge-patch+json"
TOP = 40


@dataclasses.dataclass
class Raw:
    """Writes as the operator sends them (JSON bytes, its field manager), answers undecoded."""

    api: client.ApiClient

    def send(
        self, method: str, path: str, body: Any, content_type: str = "application/json"
    ) -> int:
        pool = self.api.rest_client.pool_manager
        url = f"{self.api.configuration.host}{path}?fieldManager={FIELD_MANAGER}"
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        headers |= self.api.default_headers
        answer = pool.request(method, url, body=json.dumps(body).encode(), headers=headers)
        if answer.status >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status} {answer.data[:300]!r}")
        return int(answer.status)

    def get(self, path: str) -> Any:
        pool = self.api.rest_client.pool_manager
        answer = pool.request("GET", f"{self.api.configuration.host}{path}")
        return json.loads(answer.data)


def tasks_path(namespace: str, name: str = "", sub: str = "") -> str:
    base = f"/apis/{resource.GROUP}/{resource.VERSION}/namespaces/{namespace}/{resource.PLURAL}"
    return "/".join(p for p in (base, name, sub) if p)


def plane_cpu(stack: Stack) -> dict[str, float]:
    return {name: common.cpu_seconds(stack.procs[name].pid) for name in PLANE}


@dataclasses.dataclass
class Cost:
    write: str
    count: int
    seconds: float
    cpu_ms: dict[str, float]  # per write, by process, idle rate subtracted

    @property
    def total_ms(self) -> float:
        return sum(self.cpu_ms.values())


def measure(
    stack: Stack, idle: dict[str, float], label: str, count: int, write: Callable[[int], Any]
) -> Cost:
    """`count` writes from THREADS threads; the control plane's CPU per write over the window
    (until it is quiet again: each watch event sent, the next window starts from zero)."""
    cpu0, began = plane_cpu(stack), time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(write, range(count)))
    seconds = time.monotonic() - began
    time.sleep(1.0)  # the watch cache's fan-out of the last events
    window = time.monotonic() - began
    cpu1 = plane_cpu(stack)
    per = {n: (cpu1[n] - cpu0[n] - idle[n] * window) * 1000 / count for n in PLANE}
    cost = Cost(label, count, seconds, per)
    print(
        f"  {label}: {count / seconds:.0f}/s, apiserver {per['kube-apiserver']:.2f} ms, "
        f"etcd {per['etcd']:.2f} ms per write",
        flush=True,
    )
    return cost


def idle_rate(stack: Stack, seconds: float = 5.0) -> dict[str, float]:
    cpu0, t0 = plane_cpu(stack), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = plane_cpu(stack), time.monotonic()
    return {n: (cpu1[n] - cpu0[n]) / (t1 - t0) for n in PLANE}


@contextlib.contextmanager
def operator_watches(api: client.ApiClient) -> Iterator[None]:
    """The watches the operator holds on what a task writes, read and discarded undecoded."""
    paths = [
        f"/apis/{resource.GROUP}/{resource.VERSION}/{resource.PLURAL}?watch=true",
        "/apis/batch/v1/jobs?watch=true&labelSelector="
        f"{resource.LABEL_MANAGED_BY}%3D{resource.MANAGED_BY}",
    ]
    stop = threading.Event()
    answers: list[urllib3.BaseHTTPResponse] = []

    def drain(path: str) -> None:
        pool = api.rest_client.pool_manager
        url = f"{api.configuration.host}{path}&timeoutSeconds=600"
        answer = pool.request("GET", url, preload_content=False, headers=api.default_headers)
        answers.append(answer)
        with contextlib.suppress(Exception):
            while not stop.is_set() and answer.read(65536):
                pass

    threads = [threading.Thread(target=drain, args=(p,), daemon=True) for p in paths]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # both watches open before the first write
    try:
        yield
    finally:
        stop.set()
        for answer in answers:
            with contextlib.suppress(Exception):
                answer.shutdown()
                answer.release_conn()


def namespace(core: client.CoreV1Api, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def pending_status(stack: Stack, raw: Raw, core: client.CoreV1Api) -> tuple[str, dict[str, Any]]:
    """The status the operator wrote when it started a sample task (its patch to Pending), and
    the sample's name; the operator is stopped again afterwards."""
    stack.start_operator()
    ns = namespace(core, "sample")
    raw.send("POST", tasks_path(ns), task_body("sample"))

    def status() -> dict[str, Any] | None:
        found = raw.get(tasks_path(ns, "sample")).get("status") or {}
        return cast(dict[str, Any], found) if found.get("phase") == "Pending" else None

    wait_for(lambda: status() is not None, 120, "the sample task Pending", 0.2)
    found = status()
    assert found is not None
    stack.stop_component("operator")
    return "sample", found


def task_body(name: str) -> dict[str, Any]:
    return {
        "apiVersion": resource.API_VERSION,
        "kind": resource.KIND,
        "metadata": {"name": name},
        "spec": _task_spec(),
    }


def per_write(stack: Stack, api: client.ApiClient, count: int, watchers: bool) -> list[Cost]:
    raw = Raw(api)
    core = client.CoreV1Api(api)
    sample, status = pending_status(stack, raw, core)
    env = stack.operator_env()
    config = settings.Settings(
        runner_redis_url=env["LONGTASK_RUNNER_REDIS_URL"],
        redis_url=env["LONGTASK_REDIS_URL"],
        redis_task_key=env["LONGTASK_REDIS_TASK_KEY"],
    )
    assert config.task_users
    ns, bare_ns = namespace(core, "writes"), namespace(core, "bare")
    uids: dict[int, str] = {}
    costs: list[Cost] = []
    idle = idle_rate(stack)
    print(f"  idle: {idle}", flush=True)

    def task_of(i: int) -> resource.LongTask:
        meta = {"name": f"t{i}", "namespace": ns, "uid": uids[i]}
        return cast(resource.LongTask, {"metadata": meta, "spec": _task_spec()})

    def create_task(i: int) -> None:
        raw.send("POST", tasks_path(ns), task_body(f"t{i}"))

    def create_secret(i: int) -> None:
        raw.send(
            "POST", f"/api/v1/namespaces/{ns}/secrets", jobs.build_redis_secret(task_of(i), config)
        )

    def create_job(i: int) -> None:
        raw.send(
            "POST", f"/apis/batch/v1/namespaces/{ns}/jobs", jobs.build_job(task_of(i), 1, config)
        )

    def patch_status(i: int) -> None:
        text = json.dumps(status).replace(f'"{sample}-1"', f'"t{i}-1"')
        raw.send(
            "PATCH", tasks_path(ns, f"t{i}", "status"), {"status": json.loads(text)}, MERGE_PATCH
        )

    def create_bare(i: int) -> None:
        raw.send("POST", f"/apis/batch/v1/namespaces/{bare_ns}/jobs", _bare_job(bare_ns, f"j{i}"))

    with operator_watches(api) if watchers else contextlib.nullcontext():
        costs.append(measure(stack, idle, "LongTask create (the client)", count, create_task))
        listed = raw.get(tasks_path(ns))["items"]
        uids.update({int(t["metadata"]["name"][1:]): t["metadata"]["uid"] for t in listed})
        costs.append(measure(stack, idle, "Secret create (operator)", count, create_secret))
        costs.append(measure(stack, idle, "Job create (operator)", count, create_job))
        costs.append(
            measure(stack, idle, "LongTask status patch to Pending (operator)", count, patch_status)
        )
        costs.append(measure(stack, idle, "bare Job create (baseline)", count, create_bare))
    return costs


def table(costs: list[Cost]) -> str:
    lines = [
        "| write | per second | kube-apiserver ms | etcd ms | both ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for c in costs:
        lines.append(
            f"| {c.write} | {c.count / c.seconds:.0f} | {c.cpu_ms['kube-apiserver']:.2f} | "
            f"{c.cpu_ms['etcd']:.2f} | {c.total_ms:.2f} |"
        )
    return "\n".join(lines) + "\n"


def with_profiling(stack: Stack) -> None:
    """Restart the API server with its /debug/pprof handlers (the stack starts it without)."""
    proc = stack.procs["kube-apiserver"]
    argv = [a if a != "--profiling=false" else "--profiling=true" for a in proc.argv]
    stack.procs["kube-apiserver"] = dataclasses.replace(proc, argv=argv)
    stack.restart("kube-apiserver")


def profile_burst(stack: Stack, api: client.ApiClient, count: int, seconds: int) -> Path:
    """The admission burst with the operator, under a Go CPU profile of the API server."""
    raw = Raw(api)
    core = client.CoreV1Api(api)
    stack.start_operator()
    time.sleep(10.0)  # the operator's first lists and watches are not the burst's
    ns = namespace(core, "adm")
    out = stack.state_dir / "apiserver.pprof"
    fetch = subprocess.Popen(
        [
            "kubectl",
            f"--kubeconfig={stack.kubeconfig}",
            "get",
            "--raw",
            f"/debug/pprof/profile?seconds={seconds}",
        ],
        stdout=out.open("wb"),
    )
    time.sleep(0.5)
    cpu0, began = plane_cpu(stack), time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda i: raw.send("POST", tasks_path(ns), task_body(f"t{i}")), range(count)))

    def pending() -> int:
        items = raw.get(tasks_path(ns))["items"]
        return sum(1 for t in items if (t.get("status") or {}).get("phase") == "Pending")

    fetch.wait(seconds + 60)  # no listing while it samples: a list of 1,000 tasks is dear
    wait_for(lambda: pending() >= count, 300, "every task Pending", 2.0)
    elapsed = time.monotonic() - began
    cpu1 = plane_cpu(stack)
    print(
        f"  burst: {count} tasks Pending within {elapsed:.1f} s; "
        + ", ".join(f"{n} {(cpu1[n] - cpu0[n]) * 1000 / count:.2f} ms per task" for n in PLANE),
        flush=True,
    )
    return out


def pprof_top(profile: Path, cumulative: bool) -> str:
    args = ["go", "tool", "pprof", "-top", f"-nodecount={TOP}"]
    if cumulative:
        args.append("-cum")
    return subprocess.run([*args, str(profile)], capture_output=True, text=True, check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--watchers", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="SECONDS")
    args = parser.parse_args()
    workdir = Path(f"/tmp/longtask-apiwrites-{uuid.uuid4().hex[:6]}")
    stack = Stack.start(workdir / "stack", operator=False, gateway=False)
    try:
        for name in ("kube-controller-manager", "localnode"):
            stack.stop_component(name)
        if args.profile:
            with_profiling(stack)
        api = api_client(stack.kubeconfig)
        if args.profile:  # first: the operator then starts on an empty cluster
            out = profile_burst(stack, api, args.count, args.profile)
            stack.stop_component("operator")
            print(pprof_top(out, cumulative=False))
            print(pprof_top(out, cumulative=True))
            print(f"profile: {out}")
        costs = per_write(stack, api, args.count, args.watchers)
        print(table(costs))
        api.close()
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
