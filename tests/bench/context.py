"""The benchmarks' shared state: one local stack (with operator and gateway), API and Redis
clients, namespaces that are cleaned up, and switches to pause parts of the stack.

Why one stack for every benchmark: starting one costs ~20 s; each benchmark works in its own
namespaces, deletes them and waits for them to go, so the next one starts from a quiet cluster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import resource as rlimit
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from kubernetes import client, config
from longtask.core import resource
from longtask.devstack.stack import Stack

from tests.bench import common
from tests.fixtures.waiting import wait_for

REPO = common.REPO


@dataclasses.dataclass
class Bench:
    stack: Stack
    api: client.ApiClient
    redis: redis.Redis
    quick: bool
    workdir: Path
    reps: int = 3
    deferred: list[str] = dataclasses.field(default_factory=list)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def size(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full

    @contextlib.contextmanager
    def namespace(self, prefix: str, defer: bool = True) -> Iterator[str]:
        """A fresh namespace (the operator provisions the runner's account there), deleted at the
        next `cleanup()`, or (`defer=False`) right after its block and waited for. Nothing is
        left to delete at the end: the benchmark's stack goes away with its objects."""
        name = f"{prefix}-{secrets.token_hex(3)}"
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        try:
            yield name
        finally:
            self.deferred.append(name)
            if not defer:
                self.cleanup()

    def cleanup(self, timeout: float = 900) -> None:
        """Deletes the namespaces used so far and waits until they are gone."""
        names, self.deferred = self.deferred, []
        if not names:
            return
        began = time.monotonic()
        for name in names:
            self.core.delete_namespace(name)

        def gone(name: str) -> bool:
            try:
                self.core.read_namespace(name)
            except client.ApiException as exc:
                return bool(exc.status == 404)
            self.release_unbound_pods(name)
            return False

        wait_for(lambda: all([gone(n) for n in names]), timeout, f"{names} deleted", interval=0.5)
        print(f"  {len(names)} namespace(s) deleted in {time.monotonic() - began:.0f}s", flush=True)

    def release_unbound_pods(self, namespace: str) -> None:
        """Lets deleted pods that never reached a node go, as the pod garbage collector would
        (the local stack does not run it): without it their Job-tracking finalizer stays."""
        for pod in self.core.list_namespaced_pod(namespace).items:
            meta = pod.metadata
            if meta.deletion_timestamp and not pod.spec.node_name and meta.finalizers:
                with contextlib.suppress(client.ApiException):
                    self.core.patch_namespaced_pod(
                        str(meta.name), namespace, {"metadata": {"finalizers": None}}
                    )

    @contextlib.contextmanager
    def paused(self, *names: str) -> Iterator[None]:
        """Stops parts of the stack (e.g. the local node, so pods stay pending) for a while."""
        for name in names:
            self.stack.stop_component(name)
        try:
            yield
        finally:
            for name in names:
                self.stack.restart(name)

    def longtask(self, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": resource.API_VERSION,
            "kind": resource.KIND,
            "metadata": {"name": name},
            "spec": spec,
        }
        return self.custom.create_namespaced_custom_object(  # type: ignore[return-value]
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, body
        )

    def tasks(self, namespace: str) -> list[dict[str, Any]]:
        listed = self.custom.list_namespaced_custom_object(
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL
        )
        return list(listed["items"])

    def pid(self, name: str) -> int:
        return self.stack.procs[name].pid


def api_client(kubeconfig: Path, pool: int = 64) -> client.ApiClient:
    """A sync client whose connection pool fits `pool` threads (the default keeps 4)."""
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    cfg.connection_pool_maxsize = pool
    return client.ApiClient(cfg)


def python_task(function: str, params: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """The spec of a task from benchtasks.py (the pods import it through PYTHONPATH)."""
    return {
        "task": f"tests.bench.benchtasks:{function}",
        "params": params,
        "env": [{"name": "PYTHONPATH", "value": str(REPO)}],
        **spec,
    }


@contextlib.contextmanager
def bench_stack(quick: bool) -> Iterator[Bench]:
    # 1,000 SSE clients and the gateway's 1,000 sockets need more than the usual 1,024 files.
    soft, hard = rlimit.getrlimit(rlimit.RLIMIT_NOFILE)
    rlimit.setrlimit(rlimit.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    workdir = Path(f"/tmp/longtask-bench-{secrets.token_hex(3)}")
    began = time.monotonic()
    stack = Stack.start(workdir / "stack", operator=True, gateway=True)
    print(f"stack up in {time.monotonic() - began:.0f}s ({workdir})", flush=True)
    api = api_client(stack.kubeconfig)
    connection = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        yield Bench(stack, api, connection, quick, workdir)
    finally:
        connection.close()
        api.close()
        stack.stop()
