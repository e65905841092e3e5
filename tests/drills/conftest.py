"""Fixtures of the fault drills: one whole local stack (control plane, local node, Redis,
operator, gateway) for the drills of this folder, a fresh namespace per drill, and helpers to
submit tasks, follow them over SSE and read what the cluster and Redis recorded.

Each drill breaks one part of that stack on purpose and restores it before it ends, so the
drills share the stack; it is stopped (every process) when the last drill is done.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from kubernetes import client, config
from longtask.core import events, keys, resource
from longtask.devstack.stack import Stack

from tests.bench import sseclient
from tests.fixtures.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
DRILL_TASKS = "tests.drills.drilltasks"
FINAL = {p.value for p in resource.FINAL_PHASES}


@pytest.fixture(scope="package")
def drill_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = Stack.start(tmp_path_factory.mktemp("drills"), operator=True, gateway=True)
    try:
        if "operator" not in started.procs or "gateway" not in started.procs:
            pytest.fail("the drills need the operator and the gateway (not built?)")
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="package")
def drill_k8s(drill_stack: Stack) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(drill_stack.kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="package")
def drill_redis(drill_stack: Stack) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(drill_stack.redis_url, decode_responses=True)
    yield connection
    connection.close()


@pytest.fixture
def cluster(drill_stack: Stack, drill_k8s: client.ApiClient) -> Iterator[Cluster]:
    """A fresh namespace (the operator provisions the runner's account), and helpers over it;
    deleted afterwards."""
    name = f"drill-{secrets.token_hex(3)}"
    core = client.CoreV1Api(drill_k8s)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield Cluster(drill_stack, drill_k8s, name)
    core.delete_namespace(name)


def python_task(function: str, params: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """The spec of a Python task from drilltasks.py (found through PYTHONPATH)."""
    return {
        "task": f"{DRILL_TASKS}:{function}",
        "params": params,
        "env": [{"name": "PYTHONPATH", "value": str(REPO)}],
        **spec,
    }


def retry(attempts: int, delay: float) -> dict[str, Any]:
    """A retry policy with a fixed delay (no jitter), so drills know when attempts come."""
    backoff = {"initialSeconds": delay, "factor": 1, "maxSeconds": delay, "jitter": False}
    return {"maxAttempts": attempts, "backoff": backoff}


class Cluster:
    """The drill's namespace: tasks, Jobs and pods over the real API, and the task streams."""

    def __init__(self, stack: Stack, api: client.ApiClient, namespace: str) -> None:
        self.stack = stack
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": resource.API_VERSION,
            "kind": resource.KIND,
            "metadata": {"name": name},
            "spec": spec,
        }
        return self.custom.create_namespaced_custom_object(  # type: ignore[return-value]
            resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL, body
        )

    def tasks(self) -> dict[str, dict[str, Any]]:
        listed = self.custom.list_namespaced_custom_object(
            resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL
        )
        return {t["metadata"]["name"]: t for t in listed["items"]}

    def phases(self) -> dict[str, str | None]:
        return {n: (t.get("status") or {}).get("phase") for n, t in self.tasks().items()}

    def count(self, phase: str) -> int:
        return sum(1 for p in self.phases().values() if p == phase)

    def wait_all(self, phases: set[str], timeout: float) -> dict[str, dict[str, Any]]:
        def probe() -> dict[str, dict[str, Any]] | None:
            found = self.tasks()
            done = all((t.get("status") or {}).get("phase") in phases for t in found.values())
            return found if found and done else None

        try:
            result: dict[str, dict[str, Any]] = wait_for(probe, timeout, f"every task in {phases}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; phases now: {self.phases()}") from None
        return result

    def jobs(self) -> list[Any]:
        return list(self.batch.list_namespaced_job(self.namespace).items)

    def jobs_by_uid(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for job in self.jobs():
            uid = (job.metadata.labels or {}).get(resource.LABEL_UID, "")
            found.setdefault(uid, []).append(job.metadata.name)
        return found

    def pods(self, uid: str) -> list[Any]:
        selector = f"{resource.LABEL_UID}={uid}"
        return list(self.core.list_namespaced_pod(self.namespace, label_selector=selector).items)

    def events_url(self, name: str) -> str:
        return f"{self.stack.gateway_url}/v1/namespaces/{self.namespace}/tasks/{name}/events"


def stream_events(r: redis.Redis, uid: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, event) of every entry in a task's Redis stream."""
    entries: list[tuple[str, dict[str, str]]] = r.xrange(keys.events(uid), "-", "+")  # type: ignore[assignment]
    return [(i, events.decode(f)) for i, f in entries]


# ---- SSE clients in a background event loop -----------------------------------------------


@dataclasses.dataclass
class Client:
    """One follower of a task's events; `events` over every connection, in order."""

    url: str
    events: list[sseclient.Event] = dataclasses.field(default_factory=list)
    connections: int = 0
    ended: bool = False
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def last_id(self) -> str | None:
        return next((e.id for e in reversed(self.events) if e.id is not None), None)

    def of_type(self, kind: str) -> list[sseclient.Event]:
        return [e for e in self.events if e.event == kind]


class Followers:
    """SSE clients run by an event loop in a background thread, reconnecting like a browser:
    after a broken connection they come back with `Last-Event-ID` until they see `end`."""

    def __init__(self, token: str, reconnect_seconds: float = 0.2, give_up: float = 120) -> None:
        self.token = token
        self.reconnect_seconds = reconnect_seconds
        self.give_up = give_up
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clients: list[Client] = []
        self.futures: list[Any] = []

    def follow(self, url: str) -> Client:
        follower = Client(url)
        self.clients.append(follower)
        self.futures.append(asyncio.run_coroutine_threadsafe(self._run(follower), self.loop))
        return follower

    async def _run(self, follower: Client) -> None:
        deadline = time.monotonic() + self.give_up
        while not follower.ended and time.monotonic() < deadline:
            headers = {"Authorization": f"Bearer {self.token}"}
            if follower.last_id is not None:
                headers["Last-Event-ID"] = follower.last_id

            def got(event: sseclient.Event, f: Client = follower) -> None:
                f.events.append(event)
                if event.event == events.EventType.END:
                    f.ended = True

            try:
                follower.connections += 1
                await sseclient.stream(follower.url, got, headers)
            except (OSError, asyncio.IncompleteReadError, sseclient.StreamError) as exc:
                follower.errors.append(f"{type(exc).__name__}: {exc}")
            if not follower.ended:
                await asyncio.sleep(self.reconnect_seconds)

    def wait_done(self, timeout: float) -> None:
        for future in self.futures:
            future.result(timeout)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def followers(drill_stack: Stack) -> Iterator[Followers]:
    running = Followers(drill_stack.token)
    yield running
    running.close()
