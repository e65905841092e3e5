"""What `Client` and `AsyncClient` share besides the calls: settings, defaults, task bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx
from longtask.api import schemas
from longtask.api.client import config as config_mod
from longtask.api.client import streams

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
# After the `end` event the LongTask status may lag the stream for a moment: how long `wait`
# re-reads the task before settling for the phase the end event named.
FINAL_STATUS_GRACE: Final = 10.0
FINAL_STATUS_POLL: Final = 0.5
USER_AGENT: Final = "longtask-client/0.1"
# Events handed to `wait`'s on_progress callback.
PROGRESS_EVENTS: Final = frozenset({streams.SNAPSHOT, "progress", "status", streams.END})


def task_body(
    body: schemas.TaskCreate | Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> schemas.TaskCreate:
    """A submit body from a model, a mapping (camelCase or snake_case) or keyword fields.

    Raises pydantic.ValidationError (a ValueError) for an invalid body, before any request."""
    if isinstance(body, schemas.TaskCreate):
        if not fields:
            return body
        body = body.model_dump(exclude_unset=True)
    merged = {**(body or {}), **fields}
    return schemas.TaskCreate.model_validate(merged)


class Settings:
    """Connection settings and the default namespace of a client."""

    def __init__(
        self,
        base_url: str | None,
        token: str | None,
        namespace: str | None,
        give_up_after: float,
    ) -> None:
        self.config = config_mod.discover(base_url, token)
        self.namespace = namespace or config_mod.default_namespace()
        self.give_up_after = give_up_after
        # Reconnect backoff of event follows (tests shorten it).
        self.initial_delay = 0.5
        self.max_delay = 5.0

    def http_options(self, timeout: httpx.Timeout | float | None) -> dict[str, Any]:
        return {
            "base_url": self.config.base_url,
            "headers": {"User-Agent": USER_AGENT, **self.config.headers()},
            "timeout": DEFAULT_TIMEOUT if timeout is None else timeout,
        }

    def resume(self, last_id: str | None, give_up_after: float | None) -> streams.Resume:
        """The resume state of a new follow (see `streams.Resume`)."""
        return streams.Resume(
            last_id=last_id,
            give_up_after=self.give_up_after if give_up_after is None else give_up_after,
            initial_delay=self.initial_delay,
            max_delay=self.max_delay,
        )

    def ns(self, namespace: str | None) -> str:
        return namespace or self.namespace

    def stream_timeout(self, remaining: float | None) -> httpx.Timeout:
        read = streams.STREAM_READ_TIMEOUT
        if remaining is not None:
            read = max(0.05, min(read, remaining))
        return httpx.Timeout(10.0, connect=5.0, read=read)
