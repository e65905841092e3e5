"""Pod status documents as a kubelet reports them, built from the local node's containers.

Pure functions of the pod and its containers; the local node sends them as merge patches of
`pods/status`. A container's ID names its process (`process://<pid>`), and a process killed by a
signal reports 128 + the signal number as its exit code, as a container runtime does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from typing import Any

from kubernetes_asyncio import client

# The exit code of a container whose process was lost (the node restarted under it): SIGKILL's.
LOST_EXIT_CODE = 137


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Container:
    """One running container process of a pod."""

    namespace: str
    pod: str
    uid: str
    name: str
    image: str
    started_at: str
    process: asyncio.subprocess.Process | None = None
    terminating: bool = False
    exit_code: int | None = None


def exit_code(returncode: int) -> int:
    """A process killed by a signal reports 128 + signal number, as a container runtime does."""
    return 128 - returncode if returncode < 0 else returncode


def running(pod: client.V1Pod, containers: list[Container]) -> dict[str, Any]:
    started = min(c.started_at for c in containers)
    return {
        "phase": "Running",
        "hostIP": "127.0.0.1",
        "podIP": "127.0.0.1",
        "podIPs": [{"ip": "127.0.0.1"}],
        "startTime": started,
        "conditions": conditions(ready=True),
        "containerStatuses": [
            container_status(c, {"running": {"startedAt": c.started_at}}, ready=True)
            for c in containers
        ],
    }


def terminated(pod: client.V1Pod, containers: list[Container]) -> dict[str, Any]:
    finished = now()
    statuses = []
    for c in containers:
        code = c.exit_code if c.exit_code is not None else LOST_EXIT_CODE
        state = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": c.started_at,
                "finishedAt": finished,
                "containerID": container_id(c),
            }
        }
        statuses.append(container_status(c, state, ready=False))
    succeeded = all(c.exit_code == 0 for c in containers)
    return {
        "phase": "Succeeded" if succeeded else "Failed",
        "conditions": conditions(ready=False),
        "containerStatuses": statuses,
    }


def failed_to_start(pod: client.V1Pod, message: str) -> dict[str, Any]:
    statuses = [
        {
            "name": spec.name,
            "image": spec.image or "",
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "state": {
                "terminated": {
                    "exitCode": 128,
                    "reason": "StartError",
                    "message": message[:1024],
                    "startedAt": now(),
                    "finishedAt": now(),
                }
            },
        }
        for spec in pod.spec.containers
    ]
    return {
        "phase": "Failed",
        "reason": "StartError",
        "message": message[:1024],
        "hostIP": "127.0.0.1",
        "conditions": conditions(ready=False),
        "containerStatuses": statuses,
    }


def lost(pod: client.V1Pod) -> dict[str, Any]:
    """Every container terminated: the pod ran on this node before it restarted."""
    meta = pod.metadata
    containers = [
        Container(
            meta.namespace,
            meta.name,
            meta.uid,
            spec.name,
            spec.image or "",
            now(),
            exit_code=LOST_EXIT_CODE,
        )
        for spec in pod.spec.containers
    ]
    return terminated(pod, containers)


def container_id(container: Container) -> str:
    pid = container.process.pid if container.process else 0
    return f"process://{pid}"


def container_status(container: Container, state: dict[str, Any], ready: bool) -> dict[str, Any]:
    return {
        "name": container.name,
        "image": container.image,
        "imageID": "",
        "containerID": container_id(container),
        "ready": ready,
        "started": "running" in state,
        "restartCount": 0,
        "state": state,
    }


def conditions(ready: bool) -> list[dict[str, Any]]:
    stamp = now()
    flag = "True" if ready else "False"
    return [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
        {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
        {"type": "ContainersReady", "status": flag, "lastTransitionTime": stamp},
        {"type": "Ready", "status": flag, "lastTransitionTime": stamp},
    ]
