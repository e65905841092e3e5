"""The exceptions of the longtask client: one base class, one class per kind of failure.

`ApiError` (the one the gateway raises, from `longtask.core.wire`) and its subclasses here are
error responses of the gateway (status code, the gateway's short error code and its sentence);
`GatewayUnreachable` is a transport failure and `InvalidResponse` an answer of the wrong shape;
`TaskError` and its subclasses say how a waited-for task ended; `WaitTimeout` that it had not
ended in time.
"""

from __future__ import annotations

from typing import Final

from longtask.core import wire
from longtask.core.wire import ApiError, LongtaskError

__all__ = [
    "ApiError",
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
    "TaskFailed",
    "Unauthorized",
    "WaitTimeout",
    "for_status",
]


class InvalidRequest(ApiError):
    """400, 413 or 422: the request was refused as malformed or invalid."""


class Unauthorized(ApiError):
    """401: no token, or a token the gateway does not accept."""


class Forbidden(ApiError):
    """403: the token may not do this in this namespace."""


class NotFound(ApiError):
    """404: no such task (or namespace)."""


class Conflict(ApiError):
    """409: the task already exists, already finished, or an Idempotency-Key was reused."""


class ServerError(ApiError):
    """5xx: the gateway, the cluster or Redis is unwell; retrying later may help."""


class GatewayUnreachable(LongtaskError):
    """The gateway could not be reached (or the connection broke) and retrying gave up."""


class InvalidResponse(LongtaskError):
    """The gateway's answer did not have the expected shape (wrong URL, or an older gateway)."""


class TaskError(LongtaskError):
    """A task reached a final phase other than Succeeded; `task` is its final state."""

    def __init__(self, task: wire.Task) -> None:
        reason = f" ({task.reason})" if task.reason else ""
        message = f": {task.message}" if task.message else ""
        super().__init__(f"task {task.namespace}/{task.name} {task.phase}{reason}{message}")
        self.task = task


class TaskFailed(TaskError):
    """The task failed (its attempts were exhausted, or it failed permanently)."""


class TaskCancelled(TaskError):
    """The task was cancelled."""


class WaitTimeout(LongtaskError, TimeoutError):
    """`wait` gave up before the task reached a final phase (the task keeps running)."""


_BY_STATUS: Final[dict[int, type[ApiError]]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    422: InvalidRequest,
}


def for_status(status: int) -> type[ApiError]:
    """The exception class of an error status code."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ApiError
