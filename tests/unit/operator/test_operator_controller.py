"""The controller's effects, over an in-memory stand-in for the API (no cluster needed)."""

from __future__ import annotations

import asyncio
import collections
import copy
from collections.abc import Mapping
from typing import Any, cast

from longtask.core.resource import LongTask
from longtask.operator import provisioning, publishing, taskusers
from longtask.operator.controller import Controller
from longtask.operator.kube import Kube
from longtask.operator.metrics import Metrics
from longtask.operator.settings import Settings
from longtask.operator.workqueue import ExponentialLimiter, WorkQueue

from tests.fixtures.operator import T0, make_job, make_task


class FakeKube:
    """Keeps Jobs and the LongTask status in dicts; counts writes like kube.Kube."""

    def __init__(self, task: LongTask) -> None:
        self.task = cast(dict[str, Any], task)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: list[str] = []
        self.reads: list[str] = []
        self.writes: collections.Counter[str] = collections.Counter()
        self.version = 100
        # ServiceAccounts and RoleBindings by (kind, namespace).
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.order: list[str] = []

    async def read_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get(("ServiceAccount", namespace))
        return found if found is not None and found["metadata"]["name"] == name else None

    async def read_namespace(self, name: str) -> dict[str, Any] | None:
        return {"metadata": {"name": name, "uid": f"ns-{name}", "labels": {}}}

    async def list_named(
        self, kind: str, name: str, namespace: str | None
    ) -> tuple[list[dict[str, Any]], str]:
        found = [o for (k, ns), o in self.objects.items() if k == kind and namespace in (None, ns)]
        return found, str(self.version)

    async def provision(self, step: provisioning.Step) -> dict[str, Any] | None:
        self.writes[f"{step.verb}_{step.kind.lower()}"] += 1
        key = (step.kind, step.namespace)
        if step.verb is provisioning.Verb.DELETE:
            self.objects.pop(key, None)
            return None
        if step.verb is provisioning.Verb.CREATE:
            if key in self.objects:
                return None
            self.objects[key] = copy.deepcopy(dict(step.body or {}))
        else:
            merged = self.objects[key]
            merged["metadata"]["labels"].update(dict(step.body or {})["metadata"]["labels"])
        return copy.deepcopy(self.objects[key])

    async def create_secret(self, manifest: Mapping[str, Any]) -> None:
        self.writes["create_secret"] += 1
        self.order.append(f"secret {manifest['metadata']['name']}")

    async def create_job(self, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
        self.writes["create_job"] += 1
        self.order.append(f"job {manifest['metadata']['name']}")
        name = manifest["metadata"]["name"]
        if name in self.jobs:
            return None
        self.jobs[name] = {"metadata": copy.deepcopy(dict(manifest["metadata"])), "status": {}}
        return self.jobs[name]

    async def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads.append(name)
        return self.jobs.get(name)

    async def delete_job(self, namespace: str, name: str) -> None:
        self.writes["delete_job"] += 1
        self.jobs.pop(name, None)

    async def list_pods(self, namespace: str, job_name: str) -> list[dict[str, Any]]:
        return []

    async def patch_status(
        self, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        self.writes["patch_status"] += 1
        status = self.task.setdefault("status", {})
        for key, value in patch.items():
            if value is None:
                status.pop(key, None)
            else:
                status[key] = copy.deepcopy(value)
        self.version += 1
        self.task["metadata"]["resourceVersion"] = str(self.version)
        return copy.deepcopy(self.task)

    async def delete_task(self, namespace: str, name: str, uid: str) -> None:
        self.writes["delete_task"] += 1

    async def post_event(
        self, task: Mapping[str, Any], kind: str, reason: str, message: str
    ) -> None:
        self.writes["create_event"] += 1
        self.events.append(reason)


def controller_for(task: LongTask) -> tuple[Controller, FakeKube]:
    fake = FakeKube(task)
    controller = Controller(
        Settings(),
        cast(Kube, fake),
        publishing.Publisher(""),
        Metrics(),
        now=lambda: T0,
        rand=lambda: 0.5,
    )
    controller.task_event("ADDED", task)
    return controller, fake


KEY = ("ns", "demo")


class FakeUsers:
    """Stands in for taskusers.TaskUsers: records the users it was asked to create."""

    def __init__(self, order: list[str], redis_up: bool = True) -> None:
        self.order = order
        self.redis_up = redis_up

    async def create(self, namespace: str, uid: str) -> bool:
        self.order.append(f"user {namespace}/{uid}")
        return self.redis_up


def controller_with_users(task: LongTask, redis_up: bool = True) -> tuple[Controller, FakeKube]:
    fake = FakeKube(task)
    settings = Settings(redis_url="redis://r/0", redis_task_key="k")
    users = cast(taskusers.TaskUsers, FakeUsers(fake.order, redis_up))
    controller = Controller(
        settings, cast(Kube, fake), publishing.Publisher(""), Metrics(), lambda: T0, users=users
    )
    controller.task_event("ADDED", task)
    return controller, fake


async def test_a_new_task_gets_its_job_then_its_status() -> None:
    controller, fake = controller_for(make_task())
    await controller.handle(KEY)
    assert list(fake.jobs) == ["demo-1"]
    assert fake.task["status"]["phase"] == "Pending"
    assert fake.writes == {
        "create_serviceaccount": 1,  # the first task of the namespace: the runner's account
        "create_rolebinding": 1,
        "create_job": 1,
        "patch_status": 1,
    }
    assert controller.store.job(("ns", "demo-1")) is not None  # no false "lost" before the watch


async def test_the_first_task_of_a_namespace_provisions_the_runners_account_once() -> None:
    controller, fake = controller_for(make_task())
    await controller.handle(KEY)
    account = fake.objects[("ServiceAccount", "ns")]
    assert account["metadata"]["labels"]["longtask.io/runner"] == "true"
    binding = fake.objects[("RoleBinding", "ns")]
    assert binding["roleRef"]["name"] == "longtask-runner"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "longtask-runner", "namespace": "ns"}
    ]
    second = make_task(name="second", uid="uid-2")
    controller.task_event("ADDED", second)
    await controller.handle(("ns", "second"))
    assert fake.writes["create_serviceaccount"] == fake.writes["create_rolebinding"] == 1
    assert fake.writes["create_job"] == 2


async def test_a_missing_service_account_fails_admission() -> None:
    controller, fake = controller_for(
        make_task(spec={"command": ["x"], "serviceAccountName": "no"})
    )
    await controller.handle(KEY)
    assert fake.jobs == {}
    assert fake.task["status"]["reason"] == "InvalidSpec"


async def test_runner_progress_patches_cost_no_operator_writes() -> None:
    controller, fake = controller_for(make_task())
    await controller.handle(KEY)
    job = make_job("demo-1", active=1, ready=1)
    controller.job_event("MODIFIED", job)
    await controller.handle(KEY)  # Pending -> Running
    before = sum(fake.writes.values())
    for percent in range(1, 50):
        update = copy.deepcopy(fake.task)
        update["status"].update({"progress": percent, "message": f"step {percent}"})
        update["metadata"]["resourceVersion"] = str(1000 + percent)
        controller.task_event("MODIFIED", update)
        await controller.handle(KEY)
    assert sum(fake.writes.values()) == before


async def test_a_job_of_an_older_task_with_the_same_name_is_not_adopted() -> None:
    controller, fake = controller_for(make_task())
    fake.jobs["demo-1"] = make_job("demo-1", task_uid="an-older-uid")
    await controller.handle(KEY)
    assert "status" not in fake.task or not fake.task["status"]
    assert controller.queue.scheduled == 1  # tries again once the old Job is gone


async def test_success_path_writes_are_few() -> None:
    controller, fake = controller_for(make_task())
    await controller.handle(KEY)
    controller.job_event("MODIFIED", make_job("demo-1", active=1, ready=1))
    await controller.handle(KEY)
    controller.job_event(
        "MODIFIED", make_job("demo-1", conditions=[{"type": "Complete"}], succeeded=1)
    )
    await controller.handle(KEY)
    assert fake.task["status"]["phase"] == "Succeeded"
    fake.writes.pop("create_serviceaccount")  # once per namespace
    fake.writes.pop("create_rolebinding")
    assert fake.writes == {"create_job": 1, "patch_status": 3, "create_event": 1}
    assert fake.events == ["Completed"]


async def test_deleted_task_is_forgotten() -> None:
    controller, _ = controller_for(make_task())
    controller.task_event("DELETED", make_task())
    assert controller.store.task(KEY) is None
    await controller.handle(KEY)  # nothing to do, no error


async def test_a_job_the_store_lacks_is_read_once_and_kept() -> None:
    controller, fake = controller_for(make_task())
    await controller.handle(KEY)  # Pending with demo-1
    controller.store.drop_job(("ns", "demo-1"))  # the watch has not delivered it yet
    fake.jobs["demo-1"] = make_job("demo-1", active=1, ready=1)
    await controller.handle(KEY)
    assert fake.reads == ["demo-1"]
    assert fake.task["status"]["phase"] == "Running"
    assert controller.store.job(("ns", "demo-1")) is not None


async def test_a_job_gone_from_store_and_api_server_is_a_lost_attempt() -> None:
    controller, fake = controller_for(make_task())
    await controller.handle(KEY)
    controller.store.drop_job(("ns", "demo-1"))
    fake.jobs.clear()
    await controller.handle(KEY)
    assert fake.task["status"]["phase"] == "Retrying"
    assert fake.task["status"]["attempts"][-1]["reason"] == "PodLost"


async def test_a_failed_reconcile_is_retried_rate_limited_and_forgotten_once_it_succeeds() -> None:
    controller, fake = controller_for(make_task())
    controller.queue = WorkQueue(ExponentialLimiter(base=0.01, maximum=0.01))
    calls: list[int] = []  # the key's requeues at each call

    create_job = fake.create_job

    async def flaky(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
        calls.append(controller.queue.num_requeues(KEY))
        if len(calls) == 1:
            raise OSError("apiserver unavailable")
        return await create_job(manifest)

    handled = asyncio.Event()  # the worker gave the key back after the second try
    done = controller.queue.done

    def done_and_tell(key: Any) -> None:
        done(key)
        if len(calls) == 2:
            handled.set()

    fake.create_job = flaky  # type: ignore[method-assign]
    controller.queue.done = done_and_tell  # type: ignore[method-assign]
    worker = asyncio.create_task(controller._worker())
    try:
        controller.queue.add(KEY)
        async with asyncio.timeout(5):
            await handled.wait()
    finally:
        worker.cancel()
    assert calls == [0, 1] and fake.task["status"]["phase"] == "Pending"
    assert controller.queue.num_requeues(KEY) == 0
    assert controller.metrics.reconcile_errors.labels("ns")._value.get() == 1


async def test_a_tasks_secret_and_redis_user_come_before_its_job() -> None:
    controller, fake = controller_with_users(make_task())
    await controller.handle(KEY)
    assert fake.order == ["secret longtask-redis-uid-1", "user ns/uid-1", "job demo-1"]
    assert fake.writes == {
        "create_serviceaccount": 1,
        "create_rolebinding": 1,
        "create_secret": 1,
        "create_job": 1,
        "patch_status": 1,
    }


async def test_a_job_is_created_while_redis_cannot_take_the_user() -> None:
    controller, fake = controller_with_users(make_task(), redis_up=False)
    await controller.handle(KEY)
    assert fake.order[-1] == "job demo-1"
    assert fake.task["status"]["phase"] == "Pending"
