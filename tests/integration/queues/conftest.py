"""Fixtures of the queue tests: `Queues`, the LongTaskQueues of the test's namespace over the
real API, and what the tests read back from the Jobs and the tasks' attempt records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kubernetes import client
from longtask.core import taskqueue

from tests.fixtures.operator import Tasks


class Queues:
    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)
        self.batch = client.BatchV1Api(api)

    def create(self, name: str, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": taskqueue.API_VERSION,
            "kind": taskqueue.KIND,
            "metadata": {"name": name},
            "spec": spec,
        }
        return self.custom.create_namespaced_custom_object(  # type: ignore[return-value]
            taskqueue.GROUP, taskqueue.VERSION, self.namespace, taskqueue.PLURAL, body
        )

    def get(self, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(  # type: ignore[return-value]
            taskqueue.GROUP, taskqueue.VERSION, self.namespace, taskqueue.PLURAL, name
        )

    def patch_spec(self, name: str, **spec: Any) -> None:
        self.custom.patch_namespaced_custom_object(
            taskqueue.GROUP,
            taskqueue.VERSION,
            self.namespace,
            taskqueue.PLURAL,
            name,
            {"spec": spec},
        )

    def jobs(self, name: str) -> list[Any]:
        selector = f"{taskqueue.LABEL_QUEUE}={name}"
        return list(self.batch.list_namespaced_job(self.namespace, label_selector=selector).items)


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def max_overlap(intervals: list[tuple[dt.datetime, dt.datetime | None]]) -> int:
    """The most intervals open at once; an end and a start at the same instant do not overlap
    (a Job's times have whole seconds, and admission follows the end it saw)."""
    points = []
    for start, end in intervals:
        points.append((start, 1))
        if end is not None:
            points.append((end, -1))
    points.sort(key=lambda p: (p[0], p[1]))
    live = most = 0
    for _, step in points:
        live += step
        most = max(most, live)
    return most


def job_intervals(jobs: list[Any]) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """Each Job from its creation to its terminal condition (what admission counts as live)."""
    out = []
    for job in jobs:
        ended = None
        for cond in job.status.conditions or []:
            if cond.type in ("Complete", "Failed") and cond.status == "True":
                ended = cond.last_transition_time
        out.append((job.metadata.creation_timestamp, ended))
    return out


def starts(task: dict[str, Any]) -> list[dt.datetime]:
    return [parse(a["start"]) for a in (task.get("status") or {}).get("attempts") or []]


def one_job_per_attempt(tasks: Tasks, task: dict[str, Any]) -> bool:
    jobs = tasks.jobs(task["metadata"]["uid"])
    return len(jobs) == len(task["status"]["attempts"]) == len({j.metadata.name for j in jobs})


@pytest.fixture
def queues(k8s: client.ApiClient, op_namespace: str) -> Queues:
    return Queues(k8s, op_namespace)


def quick(seconds: float = 1.0, **spec: Any) -> dict[str, Any]:
    return {"command": ["sh", "-c", f"sleep {seconds}; echo '::progress 100 done'"], **spec}
