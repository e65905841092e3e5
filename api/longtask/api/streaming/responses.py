"""The SSE response every streaming route returns: batches of frames encoded, counted, cut off.

SSE is served by sse-starlette, chosen over FastAPI's own `fastapi.sse` on purpose: it gives a
per-send timeout (a stalled client is cut off instead of holding its coroutine and queue), comment
pings on an independent task, disconnect detection while the generator waits, and cooperative
shutdown; and it sends `bytes` items as they are, which lets `follow` batch several pending
events into one write. Resume ids, the snapshot and the `retry:` hint are ours (`sse`).

The body's sends are the hot path of a gateway with many clients (one per batch per client), so
`EventStream` makes each one cheaper: the send timeout is an `asyncio.timeout` per batch instead
of an anyio cancel scope, and body chunks go to the server's own `send` (`bare_send` puts it in
the scope), past the middleware stack: its wrappers only look at a response's start (metrics,
error handlers), which still passes through them.

A client that keeps up costs even less: its follow writes each new entry to the socket from the
hub's fan-out, without waking the client's task (`DirectSink`, hub design choice 7). That write
is uvicorn's own body write (a chunk on the transport), done only while the transport takes it
at once; a client whose socket backs up gets its entries queued and sent, with the send timeout,
by its task as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

from longtask.api import observability as obs
from longtask.api.settings import Settings
from longtask.api.streaming import sse
from longtask.api.streaming.follow import Batches, Dropped
from longtask.core import wire
from sse_starlette.sse import EventSourceResponse, SendTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# The OpenAPI description of a streaming route's answers.
STREAM_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "description": "snapshot, then progress/status/heartbeat/result/log events, then end.",
    },
    **{code: {"model": wire.Error} for code in (401, 403, 404, 422, 503)},
}


# The scope key of the server's own `send` (see the module docstring).
BARE_SEND: Final = "longtask.bare_send"


def bare_send(app: ASGIApp) -> ASGIApp:
    """`app`, with the server's own `send` in the scope of every HTTP request."""

    async def with_bare_send(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[BARE_SEND] = send
        await app(scope, receive, send)

    return with_bare_send


class DirectSink:
    """Writes frames to the client's socket at once, as uvicorn's httptools protocol writes a
    body chunk, while the response is open and the socket is not backed up (see the module
    docstring). With another server (no such cycle behind `send`) it is never writable."""

    def __init__(self) -> None:
        self._cycle: Any = None

    def attach(self, send: Send | None) -> None:
        """Use the request's cycle behind the server's own `send` (the bound method)."""
        cycle = getattr(send, "__self__", None)
        if all(hasattr(cycle, a) for a in ("transport", "flow", "chunked_encoding")):
            self._cycle = cycle

    def writable(self) -> bool:
        cycle = self._cycle
        return bool(
            cycle is not None
            and cycle.response_started
            and cycle.chunked_encoding
            and not cycle.response_complete
            and not cycle.disconnected
            and not cycle.flow.write_paused
        )

    def write(self, frames: list[sse.Frame]) -> None:
        body = sse.encode_batch(frames)
        self._cycle.transport.write(b"%x\r\n%b\r\n" % (len(body), body))
        obs.SSE_EVENTS_SENT.inc(len(frames))


class EventStream(EventSourceResponse):
    """An SSE response that counts clients cut off by the send timeout, and sends its body
    straight to the server (see the module docstring)."""

    _bare: Send | None = None
    sink: DirectSink | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._bare = scope.get(BARE_SEND)
        if self.sink is not None:
            self.sink.attach(self._bare)
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            obs.SSE_CLIENTS_DROPPED.inc()
            log.info("dropped an SSE client: send timed out")

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        if self._bare is not None and message["type"] == "http.response.body":
            send = self._bare
        if self.send_timeout is None:
            await send(message)
            return
        try:
            async with asyncio.timeout(self.send_timeout):
                await send(message)
        except TimeoutError:
            raise SendTimeoutError() from None


async def encoded(batches: Batches, retry_ms: int) -> AsyncIterator[bytes]:
    """SSE bytes, one chunk per batch; the first carries the retry hint."""
    obs.SSE_CLIENTS.inc()
    first = True
    try:
        # aclosing: a client that leaves closes the follow at once (its finally unsubscribes).
        async with contextlib.aclosing(batches):
            async for batch in batches:
                if first and batch:
                    # The hint rides on the first event (the snapshot), not in an empty block.
                    yield sse.encode(batch[0], retry_ms) + sse.encode_batch(batch[1:])
                    first = False
                else:
                    yield sse.encode_batch(batch)
                obs.SSE_EVENTS_SENT.inc(len(batch))
    except Dropped as exc:
        obs.SSE_CLIENTS_DROPPED.inc()
        log.info("%s", exc)
    finally:
        obs.SSE_CLIENTS.dec()


def event_stream(
    settings: Settings, batches: Batches, sink: DirectSink | None = None
) -> EventStream:
    """The response streaming `batches` with the settings' pings, send timeout and retry hint;
    `sink` (given to the follow too) lets the follow write to the socket itself."""
    response = EventStream(
        encoded(batches, settings.sse_retry_ms),
        ping=settings.sse_ping_seconds,
        send_timeout=settings.sse_send_timeout_seconds,
    )
    response.sink = sink
    return response
