"""Fixtures of the schedule tests: operators started for tests (LONGTASK_SCHEDULE_SECONDS, so
that real schedules fire every few seconds) in namespaces of their own, and `Schedules`, the
schedules and runs of one namespace over the real API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from longtask.core import resource, schedule

from tests.fixtures.operator import PRIVATE_PREFIX, OperatorProcess, make_namespace, operator_env
from tests.fixtures.waiting import wait_for

OperatorFactory = Callable[[], OperatorProcess]


def seconds_env(stack: Any, namespace: str) -> dict[str, str]:
    return operator_env(stack, namespace) | {"LONGTASK_SCHEDULE_SECONDS": "true"}


@pytest.fixture
def sched_namespace(stack: Any, k8s: client.ApiClient) -> Iterator[str]:
    """A fresh namespace no shared operator serves."""
    name = make_namespace(stack, k8s, PRIVATE_PREFIX)
    yield name
    client.CoreV1Api(k8s).delete_namespace(name)


@pytest.fixture
def operators(stack: Any, sched_namespace: str, tmp_path: Path) -> Iterator[OperatorFactory]:
    """Makes operators (not started) serving `sched_namespace` with seconds allowed; stops
    them all at the end."""
    made: list[OperatorProcess] = []

    def factory() -> OperatorProcess:
        process = OperatorProcess(
            seconds_env(stack, sched_namespace), tmp_path / f"operator-{len(made)}.log"
        )
        made.append(process)
        return process

    yield factory
    for process in made:
        process.stop()


@pytest.fixture
def sched_operator(operators: OperatorFactory) -> OperatorProcess:
    """A running operator for tests serving `sched_namespace`."""
    process = operators()
    process.start()
    return process


class Schedules:
    """LongTaskSchedules and their runs in one namespace."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)

    def create(self, name: str, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": schedule.API_VERSION,
            "kind": schedule.KIND,
            "metadata": {"name": name},
            "spec": spec,
        }
        return self.custom.create_namespaced_custom_object(  # type: ignore[return-value]
            schedule.GROUP, schedule.VERSION, self.namespace, schedule.PLURAL, body
        )

    def get(self, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(  # type: ignore[return-value]
            schedule.GROUP, schedule.VERSION, self.namespace, schedule.PLURAL, name
        )

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.get(name).get("status") or {})

    def patch_spec(self, name: str, **spec: Any) -> None:
        self.custom.patch_namespaced_custom_object(
            schedule.GROUP, schedule.VERSION, self.namespace, schedule.PLURAL, name, {"spec": spec}
        )

    def runs(self, name: str) -> list[dict[str, Any]]:
        """The schedule's runs (LongTasks labelled with it), oldest slot first."""
        found = self.custom.list_namespaced_custom_object(
            resource.GROUP,
            resource.VERSION,
            self.namespace,
            resource.PLURAL,
            label_selector=f"{schedule.LABEL_SCHEDULE}={name}",
        )
        items: list[dict[str, Any]] = found["items"]
        return sorted(items, key=lambda r: r["metadata"]["labels"][schedule.LABEL_SCHEDULED_TIME])

    def run_slots(self, name: str) -> list[dt.datetime]:
        return [slot_of(r) for r in self.runs(name)]

    def events(self, name: str) -> list[Any]:
        found = self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={name}"
        )
        return [e for e in found.items if e.involved_object.kind == schedule.KIND]

    def event_reasons(self, name: str) -> list[str]:
        return [str(e.reason) for e in self.events(name)]

    def wait_status(
        self, name: str, probe: Callable[[dict[str, Any]], bool], what: str, timeout: float = 60
    ) -> dict[str, Any]:
        return wait_for(
            lambda: (lambda s: s if probe(s) else None)(self.status(name)), timeout, what
        )

    def wait_handled(self, name: str, slot: dt.datetime, timeout: float = 60) -> dict[str, Any]:
        """Wait until the schedule's lastScheduleTime reached `slot`."""
        return self.wait_status(
            name,
            lambda s: (parse(s.get("lastScheduleTime")) or EPOCH) >= slot,
            f"{name} to handle the slot {slot:%H:%M:%S}",
            timeout,
        )


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def slot_of(run: dict[str, Any]) -> dt.datetime:
    found = schedule.parse_label_time(run["metadata"]["labels"][schedule.LABEL_SCHEDULED_TIME])
    assert found is not None
    return found


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def wait_until(moment: dt.datetime) -> None:
    """Wait for a wall-clock moment (slots are wall-clock times)."""
    wait_for(lambda: now() >= moment, (moment - now()).total_seconds() + 5, f"{moment:%T}")


@pytest.fixture
def schedules(k8s: client.ApiClient, sched_namespace: str) -> Schedules:
    return Schedules(k8s, sched_namespace)
