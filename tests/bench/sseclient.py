"""A minimal asyncio Server-Sent Events client for drills and benchmarks.

Why not httpx-sse: a benchmark holds 1,000 streams in the same two cores as the gateway it
measures, so the client must cost as little as possible per event. This one is an asyncio
Protocol (no stream reader, no task woken per read) that speaks just enough HTTP/1.1 (one GET,
chunked or plain body, `Connection: close`) to read an SSE stream. `stream_blocks` hands each
raw event block (bytes between blank lines) to a callback with its receipt time, for callers that
parse only what they need; `stream` parses every block into an `Event`. Limits: headers
≤ 64 KiB, one event ≤ 1 MiB (a larger one is a protocol error here).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Final
from urllib.parse import urlsplit

MAX_HEADER_BYTES: Final = 64 * 1024
MAX_EVENT_BYTES: Final = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One SSE event as received: `id` is None for events without an id field."""

    id: str | None
    event: str
    data: str
    received: float  # time.time() when the chunk holding it arrived


class StreamError(Exception):
    """The server answered something other than an event stream."""


def parse_block(block: str, received: float) -> Event | None:
    """The event of one SSE block (lines between blank lines); None for comments only."""
    event_id: str | None = None
    name = "message"
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
        elif field == "event":
            name = value
    if not data and event_id is None:
        return None
    return Event(event_id, name, "\n".join(data), received)


class _Reader(asyncio.Protocol):
    """Reads the answer to one GET: status and headers, then the body (de-chunked) split into
    event blocks, each handed to `on_block` as it completes."""

    def __init__(
        self,
        request: bytes,
        on_block: Callable[[bytes, float], None],
        connected: asyncio.Event | None,
        done: asyncio.Future[None],
    ) -> None:
        self.request = request
        self.on_block = on_block
        self.connected = connected
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.raw = b""  # bytes not yet parsed as HTTP (headers, chunk framing)
        self.text = b""  # body bytes not yet parsed as complete events
        self.head = True
        self.chunked = False
        self.finished = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        received = time.time()
        try:
            self._take(data, received)
        except StreamError as exc:
            self._finish(exc)

    def _take(self, data: bytes, received: float) -> None:
        if self.head:
            self.raw += data
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                if len(self.raw) > MAX_HEADER_BYTES:
                    raise StreamError("response headers too large")
                return
            head, data, self.raw = self.raw[:end], self.raw[end + 4 :], b""
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            if status_line.split(" ")[1:2] != ["200"]:
                raise StreamError(status_line)
            fields = {
                k.strip().lower(): v.strip()
                for k, _, v in (h.partition(":") for h in header_lines if h)
            }
            self.chunked = fields.get("transfer-encoding", "").lower() == "chunked"
            self.head = False
            if self.connected is not None:
                self.connected.set()
        if self.chunked:
            data = self._dechunk(data)
        if data:
            self._events(data, received)

    def _dechunk(self, data: bytes) -> bytes:
        raw = self.raw + data if self.raw else data
        body, at = [], 0
        while True:
            eol = raw.find(b"\r\n", at)
            if eol < 0:
                break
            size = int(raw[at:eol].split(b";")[0], 16)
            if size == 0:
                self.finished = True
                self._finish(None)
                break
            start, stop = eol + 2, eol + 2 + size
            if len(raw) < stop + 2:
                break
            body.append(raw[start:stop])
            at = stop + 2
        self.raw = raw[at:]
        return b"".join(body)

    def _events(self, data: bytes, received: float) -> None:
        text = self.text + data if self.text else data
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *blocks, self.text = text.split(b"\n\n")
        if len(self.text) > MAX_EVENT_BYTES:
            raise StreamError("an SSE event larger than 1 MiB")
        for block in blocks:
            self.on_block(block, received)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self._finish(exc)
        elif self.head or (self.chunked and not self.finished):
            self._finish(asyncio.IncompleteReadError(self.raw, None))
        else:
            self._finish(None)

    def _finish(self, exc: BaseException | None) -> None:
        if not self.done.done():
            if exc is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(exc)
        if self.transport is not None:
            self.transport.close()


async def stream_blocks(
    url: str,
    on_block: Callable[[bytes, float], None],
    headers: Mapping[str, str] | None = None,
    connected: asyncio.Event | None = None,
) -> None:
    """Reads the SSE stream at `url` until the server closes it, handing each raw event block
    and its receipt time (time.time()) to `on_block`; raises StreamError on a non-200 answer and
    OSError/IncompleteReadError when the connection breaks."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = "\r\n".join([*lines, "Connection: close", "", ""]).encode()
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.create_connection(
        lambda: _Reader(request, on_block, connected, done), host, port
    )
    try:
        await done
    finally:
        transport.close()


async def stream(
    url: str,
    on_event: Callable[[Event], None],
    headers: Mapping[str, str] | None = None,
    connected: asyncio.Event | None = None,
) -> None:
    """`stream_blocks`, each block parsed into an `Event` (comment-only blocks skipped)."""

    def on_block(block: bytes, received: float) -> None:
        event = parse_block(block.decode(), received)
        if event is not None:
            on_event(event)

    await stream_blocks(url, on_block, headers, connected)
