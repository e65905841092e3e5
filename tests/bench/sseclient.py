"""A minimal asyncio Server-Sent Events client for drills and benchmarks.

Why not httpx-sse: a benchmark holds 1,000 streams in the same two cores as the gateway it
measures, so the client must cost as little as possible per event. This one speaks just enough
HTTP/1.1 (one GET, chunked or plain body, `Connection: close`) to read an SSE stream, stamps each
event with its receipt time, and hands it to a callback. Limits: headers ≤ 64 KiB, one event
≤ 1 MiB (a larger one is a protocol error here).
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


class _Body:
    """Turns the raw body (chunked or not) into SSE events."""

    def __init__(self, on_event: Callable[[Event], None]) -> None:
        self.on_event = on_event
        self.text = ""

    def feed(self, data: bytes, received: float) -> None:
        self.text += data.decode().replace("\r\n", "\n").replace("\r", "\n")
        if len(self.text) > MAX_EVENT_BYTES:
            raise StreamError("an SSE event larger than 1 MiB")
        *blocks, self.text = self.text.split("\n\n")
        for block in blocks:
            event = parse_block(block, received)
            if event is not None:
                self.on_event(event)


async def stream(
    url: str,
    on_event: Callable[[Event], None],
    headers: Mapping[str, str] | None = None,
    connected: asyncio.Event | None = None,
) -> None:
    """Reads the SSE stream at `url` until the server closes it; raises StreamError on a non-200
    answer and OSError/IncompleteReadError when the connection breaks."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    reader, writer = await asyncio.open_connection(host, port, limit=MAX_EVENT_BYTES)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join([*lines, "Connection: close", "", ""])).encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEADER_BYTES:
            raise StreamError("response headers too large")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        if status_line.split(" ")[1:2] != ["200"]:
            raise StreamError(status_line)
        fields = {
            k.strip().lower(): v.strip()
            for k, _, v in (h.partition(":") for h in header_lines if h)
        }
        if connected is not None:
            connected.set()
        body = _Body(on_event)
        if fields.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    return
                chunk = await reader.readexactly(size + 2)
                body.feed(chunk[:-2], time.time())
        while data := await reader.read(65536):
            body.feed(data, time.time())
    finally:
        writer.close()
