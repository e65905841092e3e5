"""The Python client of the longtask gateway: `Client` (blocking) and `AsyncClient` (asyncio).

    from longtask.api.client import Client

    with Client() as lt:  # URL and token from the environment or .longtask/env
        task = lt.submit(command=["python", "-c", "print('::progress 50 half')"])
        final = lt.wait(task.name, on_progress=lambda e: print(e.progress, e.message))

Models are the gateway's own (`longtask.api.schemas`); errors are in `errors`, all subclasses
of `LongtaskError`. Modules: `calls` (requests and responses, no I/O), `streams` (events and
their resume), `config` (where the gateway is), `sync` and `aio` (the two clients).
"""

from longtask.api.client.aio import AsyncClient
from longtask.api.client.config import Config, discover
from longtask.api.client.errors import (
    ApiError,
    Conflict,
    Forbidden,
    GatewayUnreachable,
    InvalidRequest,
    InvalidResponse,
    LongtaskError,
    NotFound,
    ServerError,
    TaskCancelled,
    TaskError,
    TaskFailed,
    Unauthorized,
    WaitTimeout,
)
from longtask.api.client.streams import TaskEvent
from longtask.api.client.sync import Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "Config",
    "Conflict",
    "Forbidden",
    "GatewayUnreachable",
    "InvalidRequest",
    "InvalidResponse",
    "LongtaskError",
    "NotFound",
    "ServerError",
    "TaskCancelled",
    "TaskError",
    "TaskEvent",
    "TaskFailed",
    "Unauthorized",
    "WaitTimeout",
    "discover",
]
