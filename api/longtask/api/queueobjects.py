"""Pure functions between the gateway's queue models and LongTaskQueue objects. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from longtask.core import wire


def queue_path(namespace: str, name: str) -> str:
    return f"/v1/namespaces/{namespace}/queues/{name}"


def queue_view(obj: Mapping[str, Any]) -> wire.Queue:
    """The `Queue` the API returns for a LongTaskQueue object."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    path = queue_path(namespace, name)
    return wire.Queue.model_validate(
        {
            "namespace": namespace,
            "name": name,
            "uid": meta.get("uid", ""),
            "maxRunning": spec.get("maxRunning"),
            "concurrencyKey": spec.get("concurrencyKey"),
            "maxRunningPerKey": spec.get("maxRunningPerKey"),
            "rateLimit": spec.get("rateLimit"),
            "suspend": bool(spec.get("suspend", False)),
            "running": status.get("running") or 0,
            "queued": status.get("queued") or 0,
            "oldestQueuedTime": status.get("oldestQueuedTime"),
            "createdAt": meta.get("creationTimestamp"),
            "conditions": status.get("conditions") or [],
            "links": {"self": path, "suspend": f"{path}/suspend", "resume": f"{path}/resume"},
        }
    )
