"""The Python client of the longtask gateway: `Client` (blocking) and `AsyncClient` (asyncio).

    from longtask.client import Client

    with Client() as lt:  # URL and token from the environment or .longtask/env
        task = lt.submit(command=["python", "-c", "print('::progress 50 half')"])
        final = lt.wait(task.name, on_progress=lambda e: print(e.progress, e.message))

Models are the gateway's own, shared through `longtask.core.wire` (the client does not need
the gateway installed); errors are in `errors`, all subclasses of `LongtaskError`. Modules:
`calls` (requests and responses, no I/O), `streams` (events and their resume), `config` (the
one settings object: where the gateway is), `sync` and `aio` (the two clients).
"""

from longtask.client.aio import AsyncClient
from longtask.client.config import Config, discover
from longtask.client.errors import (
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
from longtask.client.streams import TaskEvent
from longtask.client.sync import Client

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
