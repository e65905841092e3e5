"""What `Client` and `AsyncClient` share besides the calls: defaults, options, task bodies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol, TypeVar

import httpx
from longtask.client import streams
from longtask.client.config import Config
from longtask.core import events, wire

T_co = TypeVar("T_co", covariant=True)

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
# After the `end` event the LongTask status may lag the stream for a moment: how long `wait`
# re-reads the task before settling for the phase the end event named.
FINAL_STATUS_GRACE: Final = 10.0
FINAL_STATUS_POLL: Final = 0.5
USER_AGENT: Final = "longtask-client/0.1"
# Events handed to `wait`'s on_progress callback.
PROGRESS_EVENTS: Final = frozenset(
    {
        streams.SNAPSHOT,
        events.EventType.PROGRESS.value,
        events.EventType.STATUS.value,
        streams.END,
        streams.GAP,
    }
)


def task_body(
    body: wire.TaskCreate | Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> wire.TaskCreate:
    """A submit body from a model, a mapping (camelCase or snake_case) or keyword fields.

    Raises pydantic.ValidationError (a ValueError) for an invalid body, before any request."""
    if isinstance(body, wire.TaskCreate):
        if not fields:
            return body
        body = body.model_dump(exclude_unset=True)
    merged = {**(body or {}), **fields}
    return wire.TaskCreate.model_validate(merged)


def http_options(config: Config, timeout: httpx.Timeout | float | None) -> dict[str, Any]:
    """The httpx client options of a client with `config`."""
    return {
        "base_url": config.base_url,
        "headers": {"User-Agent": USER_AGENT, **config.headers()},
        "timeout": DEFAULT_TIMEOUT if timeout is None else timeout,
    }


def resume(config: Config, last_id: str | None, give_up_after: float | None) -> streams.Resume:
    """The resume state of a new follow (see `streams.Resume`)."""
    return streams.Resume(
        last_id=last_id,
        give_up_after=config.give_up_after if give_up_after is None else give_up_after,
        initial_delay=config.initial_delay,
        max_delay=config.max_delay,
    )


def stream_timeout(remaining: float | None) -> httpx.Timeout:
    """The timeouts of an event stream's connection, its read cut to `remaining` seconds."""
    read = streams.STREAM_READ_TIMEOUT
    if remaining is not None:
        read = max(0.05, min(read, remaining))
    return httpx.Timeout(10.0, connect=5.0, read=read)


class Page(Protocol[T_co]):
    """One page of a list the gateway pages with `limit` and `continue`."""

    @property
    def items(self) -> Sequence[T_co]: ...

    @property
    def continue_(self) -> str | None: ...
