"""The gateway's calls without I/O: how to build each request and how to read its response.

Each function returns a `Call`: method, path, query, body, headers, and the function that turns
the response into a model (or raises the matching `errors.ApiError`). `Client` and `AsyncClient`
only send calls, so both behave the same by construction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Generic, TypedDict, TypeVar
from urllib.parse import quote

import httpx
import pydantic
from longtask.client import errors
from longtask.core import resource, wire
from typing_extensions import Unpack

# Covariant: a Call[TaskList] is a Call[base.Page[Task]] (the clients page any list alike).
T_co = TypeVar("T_co", covariant=True)
M = TypeVar("M", bound=pydantic.BaseModel)

API_PREFIX: Final = "/v1"
# An error body is a short JSON object; do not parse megabytes of an unexpected page.
ERROR_BODY_MAX_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class Call(Generic[T_co]):
    """One request to the gateway and the parser of its response."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T_co]
    params: Mapping[str, str | int | list[str]] = field(default_factory=dict)
    """Query parameters; a list value repeats the parameter (`?phase=A&phase=B`)."""
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def _seg(value: str) -> str:
    return quote(value, safe="")


def task_path(namespace: str, name: str | None = None) -> str:
    base = f"{API_PREFIX}/namespaces/{_seg(namespace)}/tasks"
    return base if name is None else f"{base}/{_seg(name)}"


def raise_for_status(response: httpx.Response) -> None:
    """Raise the `errors.ApiError` subclass of an error response; return on success."""
    if response.is_success:
        return
    status = response.status_code
    error, message, details = _status_error(status), response.reason_phrase or "error", None
    body = response.content[:ERROR_BODY_MAX_BYTES] if response.is_stream_consumed else b""
    try:
        parsed = wire.Error.model_validate_json(body)
        error, message, details = parsed.error, parsed.message, parsed.details
    except pydantic.ValidationError:
        pass
    raise errors.for_status(status)(status, error, message, details)


def _status_error(status: int) -> str:
    return {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(status, "error")


def model(cls: type[M]) -> Callable[[httpx.Response], M]:
    """A parser: the response's JSON as `cls`, after raising for an error status."""

    def parse(response: httpx.Response) -> M:
        raise_for_status(response)
        try:
            return cls.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            raise errors.InvalidResponse(
                f"{response.request.method} {response.request.url.path}: not a {cls.__name__} "
                f"({exc.error_count()} errors)"
            ) from None

    return parse


def no_content(response: httpx.Response) -> None:
    raise_for_status(response)


def json_value(response: httpx.Response) -> Any:
    """A parser: the response's JSON, whatever its shape, after raising for an error status."""
    raise_for_status(response)
    try:
        return json.loads(response.content)
    except ValueError:
        raise errors.InvalidResponse(
            f"{response.request.method} {response.request.url.path}: not JSON"
        ) from None


def submit(
    namespace: str, body: wire.TaskCreate, idempotency_key: str | None = None
) -> Call[wire.Task]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return Call(
        "POST",
        task_path(namespace),
        model(wire.Task),
        json=body.model_dump(mode="json", by_alias=True, exclude_none=True),
        headers=headers,
    )


def get(namespace: str, name: str) -> Call[wire.Task]:
    return Call("GET", task_path(namespace, name), model(wire.Task))


def list_page(
    namespace: str,
    *,
    phase: resource.Phase | str | None = None,
    label_selector: str | None = None,
    limit: int | None = None,
    continue_: str | None = None,
) -> Call[wire.TaskList]:
    params: dict[str, str | int] = {}
    if phase is not None:
        params["phase"] = str(phase)
    if label_selector:
        params["labelSelector"] = label_selector
    if limit is not None:
        params["limit"] = limit
    if continue_:
        params["continue"] = continue_
    return Call("GET", task_path(namespace), model(wire.TaskList), params=params)


def cancel(namespace: str, name: str) -> Call[wire.Task]:
    return Call("POST", f"{task_path(namespace, name)}/cancel", model(wire.Task))


def retry(namespace: str, name: str) -> Call[wire.Task]:
    return Call("POST", f"{task_path(namespace, name)}/retry", model(wire.Task))


def result(namespace: str, name: str) -> Call[Any]:
    """The task's result, whatever its size (the gateway streams a large one from Redis)."""
    return Call("GET", f"{task_path(namespace, name)}/result", json_value)


def delete(namespace: str, name: str) -> Call[None]:
    return Call("DELETE", task_path(namespace, name), no_content)


def logs(
    namespace: str, name: str, *, after: str | None = None, limit: int | None = None
) -> Call[wire.TaskLogs]:
    params: dict[str, str | int] = {}
    if after:
        params["after"] = after
    if limit is not None:
        params["limit"] = limit
    return Call("GET", logs_path(namespace, name), model(wire.TaskLogs), params=params)


def output(namespace: str, name: str) -> Call[wire.TaskOutput]:
    """The task's whole output so far (retractions of failed attempts applied)."""
    return Call("GET", f"{task_path(namespace, name)}/output", model(wire.TaskOutput))


def logs_path(namespace: str, name: str) -> str:
    return f"{task_path(namespace, name)}/logs"


# Query of the logs route that turns the page into a live SSE stream of `log` events.
FOLLOW: Final = {"follow": "true"}


def deadletters(
    *, namespace: str | None = None, before: str | None = None, limit: int | None = None
) -> Call[wire.DeadLetterList]:
    params: dict[str, str | int] = {}
    if namespace:
        params["namespace"] = namespace
    if before:
        params["before"] = before
    if limit is not None:
        params["limit"] = limit
    return Call("GET", f"{API_PREFIX}/deadletters", model(wire.DeadLetterList), params=params)


def events_path(namespace: str, name: str) -> str:
    return f"{task_path(namespace, name)}/events"


# Query of the events route that starts from the task's current state (no replay).
TAIL: Final = {"tail": "true"}


def events_query(tail: bool) -> dict[str, str]:
    return dict(TAIL) if tail else {}


def history_path(namespace: str, uid: str | None = None) -> str:
    base = f"{API_PREFIX}/namespaces/{_seg(namespace)}/history"
    return base if uid is None else f"{base}/{_seg(uid)}"


class HistoryFilters(TypedDict, total=False):
    """What a history query selects (all together)."""

    phases: Sequence[resource.Phase | str]
    label_selector: str
    name_prefix: str
    since: datetime
    """Finished at or after (a time without a zone is UTC)."""
    until: datetime
    """Finished before."""
    queue: str
    schedule: str


def history_page(
    namespace: str,
    *,
    limit: int | None = None,
    continue_: str | None = None,
    **filters: Unpack[HistoryFilters],
) -> Call[wire.HistoryList]:
    """One page of the namespace's finished tasks, newest first."""
    params: dict[str, str | int | list[str]] = {}
    if filters.get("phases"):
        params["phase"] = [str(p) for p in filters["phases"]]
    since, until = filters.get("since"), filters.get("until")
    for name, value in (
        ("labelSelector", filters.get("label_selector")),
        ("namePrefix", filters.get("name_prefix")),
        ("since", since.isoformat() if since else None),
        ("until", until.isoformat() if until else None),
        ("queue", filters.get("queue")),
        ("schedule", filters.get("schedule")),
        ("limit", limit),
        ("continue", continue_),
    ):
        if value is not None and value != "":
            params[name] = value
    return Call("GET", history_path(namespace), model(wire.HistoryList), params=params)


def history_record(namespace: str, uid: str) -> Call[wire.HistoryRecord]:
    return Call("GET", history_path(namespace, uid), model(wire.HistoryRecord))


# Schedules and queues: both are paged the same way and suspended and resumed the same way ------


def _path(plural: str, namespace: str, name: str | None = None) -> str:
    """The path of the collection `plural` of the namespace, or of one resource of it."""
    base = f"{API_PREFIX}/namespaces/{_seg(namespace)}/{plural}"
    return base if name is None else f"{base}/{_seg(name)}"


def _page(
    plural: str, kind: type[M], namespace: str, limit: int | None, continue_: str | None
) -> Call[M]:
    params: dict[str, str | int] = {}
    if limit is not None:
        params["limit"] = limit
    if continue_:
        params["continue"] = continue_
    return Call("GET", _path(plural, namespace), model(kind), params=params)


def _suspension(plural: str, kind: type[M], namespace: str, name: str, suspended: bool) -> Call[M]:
    """Suspend (or resume) a resource of `plural`: the gateway sets its spec.suspend."""
    action = "suspend" if suspended else "resume"
    return Call("POST", f"{_path(plural, namespace, name)}/{action}", model(kind))


def schedule_path(namespace: str, name: str | None = None) -> str:
    return _path("schedules", namespace, name)


def schedules_page(
    namespace: str, *, limit: int | None = None, continue_: str | None = None
) -> Call[wire.ScheduleList]:
    return _page("schedules", wire.ScheduleList, namespace, limit, continue_)


def get_schedule(namespace: str, name: str) -> Call[wire.Schedule]:
    return Call("GET", schedule_path(namespace, name), model(wire.Schedule))


def trigger(namespace: str, name: str) -> Call[wire.Task]:
    """Run the schedule's template now (a run named `<schedule>-manual-<time>`)."""
    return Call("POST", f"{schedule_path(namespace, name)}/trigger", model(wire.Task))


def backfill(namespace: str, name: str, body: wire.Backfill) -> Call[wire.BackfillResult]:
    return Call(
        "POST",
        f"{schedule_path(namespace, name)}/backfill",
        model(wire.BackfillResult),
        json=body.model_dump(mode="json", by_alias=True),
    )


def suspend(namespace: str, name: str) -> Call[wire.Schedule]:
    return _suspension("schedules", wire.Schedule, namespace, name, True)


def resume(namespace: str, name: str) -> Call[wire.Schedule]:
    return _suspension("schedules", wire.Schedule, namespace, name, False)


def queue_path(namespace: str, name: str | None = None) -> str:
    return _path("queues", namespace, name)


def queues_page(
    namespace: str, *, limit: int | None = None, continue_: str | None = None
) -> Call[wire.QueueList]:
    return _page("queues", wire.QueueList, namespace, limit, continue_)


def get_queue(namespace: str, name: str) -> Call[wire.Queue]:
    return Call("GET", queue_path(namespace, name), model(wire.Queue))


def suspend_queue(namespace: str, name: str) -> Call[wire.Queue]:
    return _suspension("queues", wire.Queue, namespace, name, True)


def resume_queue(namespace: str, name: str) -> Call[wire.Queue]:
    return _suspension("queues", wire.Queue, namespace, name, False)
