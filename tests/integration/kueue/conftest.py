"""Fixtures of the Kueue tests: Kueue itself on the session's stack (built from its Go module on
first use, `deploy/kueue/build.sh`), an operator that labels every attempt's Job for the
LocalQueue `LOCAL_QUEUE`, and per test a namespace whose LocalQueue feeds a ClusterQueue of its
own with a small CPU quota. Only tests in this folder pay for Kueue."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client
from longtask.devstack import kueue as localkueue

from tests.fixtures.operator import OperatorProcess, Tasks, make_namespace, operator_env
from tests.fixtures.waiting import wait_for

GROUP, VERSION = "kueue.x-k8s.io", "v1beta2"
LOCAL_QUEUE = "team-queue"
FLAVOR = "default-flavor"
HIGH = "longtask-test-high"
QUOTA_CPU = 2
# Namespaces served by the Kueue tests' operator.
PREFIX = "lt-kq-"


@pytest.fixture(scope="session")
def kueue(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[localkueue.Kueue]:
    started = localkueue.start(stack.kubectl, stack.kubeconfig, tmp_path_factory.mktemp("kueue"))
    yield started
    started.stop()


@pytest.fixture(scope="session")
def kueue_operator(
    stack: Any, kueue: localkueue.Kueue, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    env = operator_env(stack, f"{PREFIX}*") | {"LONGTASK_KUEUE_QUEUE": LOCAL_QUEUE}
    process = OperatorProcess(env, tmp_path_factory.mktemp("kueue-operator") / "operator.log")
    process.start()
    yield process
    process.stop()


class KueueObjects:
    """Kueue's objects over the real API: a ClusterQueue of the test's own with a CPU quota,
    the namespace's LocalQueue pointing at it, the shared flavor and priority class."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.cluster_queue = f"cq-{namespace}"

    def _ensure(self, plural: str, body: dict[str, Any]) -> None:
        try:
            self.custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
        except client.ApiException as exc:
            if exc.status != 409:
                raise

    def create(self) -> None:
        self._ensure(
            "resourceflavors",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ResourceFlavor",
                "metadata": {"name": FLAVOR},
            },
        )
        self._ensure(
            "workloadpriorityclasses",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "WorkloadPriorityClass",
                "metadata": {"name": HIGH},
                "value": 1000,
            },
        )
        quota = {"name": "cpu", "nominalQuota": QUOTA_CPU}
        self.custom.create_cluster_custom_object(
            GROUP,
            VERSION,
            "clusterqueues",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ClusterQueue",
                "metadata": {"name": self.cluster_queue},
                "spec": {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": self.namespace}
                    },
                    "resourceGroups": [
                        {
                            "coveredResources": ["cpu"],
                            "flavors": [{"name": FLAVOR, "resources": [quota]}],
                        }
                    ],
                    "preemption": {"withinClusterQueue": "LowerPriority"},
                },
            },
        )
        self.custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            "localqueues",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "LocalQueue",
                "metadata": {"name": LOCAL_QUEUE},
                "spec": {"clusterQueue": self.cluster_queue},
            },
        )
        wait_for(self._active, 60, f"ClusterQueue {self.cluster_queue} active")

    def _active(self) -> bool:
        found = self.custom.get_cluster_custom_object(
            GROUP, VERSION, "clusterqueues", self.cluster_queue
        )
        conditions = (cast(dict[str, Any], found).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Active" and c["status"] == "True" for c in conditions)

    def delete(self) -> None:
        try:
            self.custom.delete_cluster_custom_object(
                GROUP, VERSION, "clusterqueues", self.cluster_queue
            )
        except client.ApiException as exc:
            if exc.status != 404:
                raise

    def workloads(self) -> list[dict[str, Any]]:
        found = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "workloads"
        )
        return list(found["items"])


@pytest.fixture
def kueue_namespace(
    stack: Any, k8s: client.ApiClient, kueue_operator: OperatorProcess
) -> Iterator[str]:
    name = make_namespace(stack, k8s, PREFIX)
    objects = KueueObjects(k8s, name)
    objects.create()
    yield name
    client.CoreV1Api(k8s).delete_namespace(name)
    objects.delete()


@pytest.fixture
def kueue_objects(k8s: client.ApiClient, kueue_namespace: str) -> KueueObjects:
    return KueueObjects(k8s, kueue_namespace)


@pytest.fixture
def ktasks(k8s: client.ApiClient, kueue_namespace: str) -> Tasks:
    """LongTasks in a namespace served by the Kueue tests' operator."""
    return Tasks(k8s, kueue_namespace)


def cpu_task(command: str, **spec: Any) -> dict[str, Any]:
    """A task whose pod requests one CPU: two fit the ClusterQueue's quota."""
    return {
        "command": ["sh", "-c", command],
        "resources": {"requests": {"cpu": "1"}},
        **spec,
    }


def admitted(task: dict[str, Any]) -> dict[str, Any] | None:
    for condition in (task.get("status") or {}).get("conditions") or []:
        if condition["type"] == "Admitted":
            return condition  # type: ignore[no-any-return]
    return None


def run_intervals(jobs: list[Any]) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """Each Job from when it last ran (its startTime, set when Kueue unsuspends it) to its
    terminal condition: what Kueue's quota bounds."""
    out = []
    for job in jobs:
        if job.status.start_time is None:
            continue
        ended = None
        for cond in job.status.conditions or []:
            if cond.type in ("Complete", "Failed") and cond.status == "True":
                ended = cond.last_transition_time
        out.append((job.status.start_time, ended))
    return out


def release_file(folder: Path) -> tuple[Path, str]:
    """A file a task waits for (`until [ -e … ]`), and that wait as a shell command."""
    path = folder / f"release-{secrets.token_hex(4)}"
    return path, f"until [ -e {path} ]; do sleep 0.2; done"
