"""Helpers of the client's unit tests: gateway-shaped tasks and SSE bodies."""

from __future__ import annotations

import json
from typing import Any

TASK_DEFAULTS: dict[str, Any] = {
    "namespace": "ns",
    "name": "t1",
    "uid": "u1",
    "phase": "Running",
    "links": {
        "self": "/v1/namespaces/ns/tasks/t1",
        "events": "/v1/namespaces/ns/tasks/t1/events",
        "logs": "/v1/namespaces/ns/tasks/t1/logs",
        "cancel": "/v1/namespaces/ns/tasks/t1/cancel",
        "retry": "/v1/namespaces/ns/tasks/t1/retry",
        "streamToken": "/v1/namespaces/ns/tasks/t1/stream-token",
    },
}


def task(**fields: Any) -> dict[str, Any]:
    """A task as the gateway returns it (camelCase JSON)."""
    return {**TASK_DEFAULTS, **fields}


def frame(event: str, data: dict[str, Any], id: str | None = None) -> bytes:
    lines = [f"id: {id}"] if id else []
    lines += [f"event: {event}", f"data: {json.dumps(data)}"]
    return ("\n".join(lines) + "\n\n").encode()


def snapshot(**fields: Any) -> bytes:
    return frame("snapshot", task(**fields))


def progress(id: str, pct: float, message: str = "", attempt: int = 1) -> bytes:
    data = {"type": "progress", "ts": 1, "attempt": attempt, "progress": pct, "message": message}
    return frame("progress", data, id)


def end(id: str | None, phase: str = "Succeeded") -> bytes:
    return frame("end", {"type": "end", "ts": 1, "attempt": 1, "phase": phase}, id)
