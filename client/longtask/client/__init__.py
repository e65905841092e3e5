"""The Python client of the longtask gateway: `Client` (blocking) and `AsyncClient` (asyncio).

    from longtask.client import Client

    with Client() as lt:  # URL and token from the environment or .longtask/env
        task = lt.submit(command=["python", "-c", "print('::progress 50 half')"])
        final = lt.wait(task.name, on_progress=lambda e: print(e.progress, e.message))
        for change in lt.outputs(task.name):  # a task's output as it is written
            if isinstance(change, OutputChunk):
                print(change.text(), end="", flush=True)

Models are the gateway's own, shared through `longtask.core.wire` (the client does not need
the gateway installed); errors are in `errors`, all subclasses of `LongtaskError`. Modules:
`calls` (requests and responses, no I/O), `streams` (events and their resume), `outputfollow`
(a task's output over its events), `config` (the one settings object: where the gateway is),
`sync` and `aio` (the two clients).
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
from longtask.core.outputs import Chunk as OutputChunk
from longtask.core.outputs import Retraction

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
    "OutputChunk",
    "Retraction",
    "ServerError",
    "TaskCancelled",
    "TaskError",
    "TaskEvent",
    "TaskFailed",
    "Unauthorized",
    "WaitTimeout",
    "discover",
]
