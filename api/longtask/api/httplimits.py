"""Limits on request heads, enforced by the HTTP server before anything else reads them.

uvicorn's httptools parser accepts a head of any size (an 8 MB header is buffered whole), and a
WebSocket upgrade whose head websockets' own parser refuses (a header line over 8 KiB) got no
answer at all: the connection was held. `protocol(settings)` is uvicorn's httptools protocol with
limits on the URL, each header line, the number of headers and the whole head. Going past one is
answered at once, before the app or an upgrade sees the request, with the gateway's JSON error
and `Connection: close`: 414 for the URL, 431 for the headers (a WebSocket client gets the same
answer to its upgrade request), 400 for a head that is not HTTP. The defaults stay within what
websockets accepts, so every upgrade that passes here is parsed there too.

The protocol class is uvicorn's extension point (`uvicorn.run(http=...)`); this module relies on
its parser callbacks (`on_message_begin`, `on_url`, `on_header`, `on_headers_complete`) and its
`send_400_response`, which every error of the parser goes through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from longtask.core import wire
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

# What every operation may answer because of its request head (documented in the OpenAPI).
RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": wire.Error, "description": "The request is not valid HTTP/1.1."},
    414: {"model": wire.Error, "description": "The URL is too long."},
    431: {"model": wire.Error, "description": "A header, or all of them, is too large."},
}


@dataclass(frozen=True)
class Limits:
    """What a request head may hold (bytes as received). `head_bytes` counts what arrived before
    the end of the headers, checked after each read that did not reach it."""

    url_bytes: int
    header_line_bytes: int
    headers: int
    head_bytes: int


class Refused(Exception):
    """A head went past a limit; raised inside a parser callback (the parser then fails)."""


def error_response(status: int, error: str, message: str) -> bytes:
    """A complete HTTP/1.1 response with the gateway's JSON error body, closing the connection."""
    body = json.dumps({"error": error, "message": message, "details": None}).encode()
    head = [
        STATUS_LINE[status],
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(body)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


def protocol(limits: Limits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with `limits` (see the module docstring)."""

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        _refusal: tuple[int, str, str] | None = None
        _in_head = True  # between the first byte of a request and the end of its headers
        _head_bytes = 0
        _header_count = 0
        _header_bytes = 0

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing():
                return  # refused: what follows is not read
            if self._in_head:
                self._head_bytes += len(data)
            super().data_received(data)
            if (
                self._in_head
                and self._head_bytes > limits.head_bytes
                and not self.transport.is_closing()
            ):
                self._refuse(431, "headers_too_large", self._head_message())
                self.send_400_response("")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head, self._header_count, self._header_bytes = True, 0, 0

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            if len(self.url) > limits.url_bytes:
                self._refuse(414, "url_too_long", f"the URL exceeds {limits.url_bytes} bytes")
                raise Refused

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_count += 1
            # The head as parsed (the read-by-read count above misses a head that arrives in
            # one read): request line and header lines.
            self._header_bytes += len(name) + len(value) + 4
            if self._header_bytes + len(self.url) > limits.head_bytes:
                self._refuse(431, "headers_too_large", self._head_message())
                raise Refused
            if self._header_count > limits.headers:
                message = f"a request may carry at most {limits.headers} headers"
                self._refuse(431, "headers_too_large", message)
                raise Refused
            if len(name) + len(value) + 2 > limits.header_line_bytes:
                shown = name[:64].decode("latin-1")
                message = (
                    f"the header {shown} exceeds {limits.header_line_bytes} bytes "
                    "(name, colon, space and value)"
                )
                self._refuse(431, "headers_too_large", message)
                raise Refused
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_head, self._head_bytes = False, 0
            super().on_headers_complete()

        def _head_message(self) -> str:
            return f"the request line and headers exceed {limits.head_bytes} bytes"

        def _refuse(self, status: int, error: str, message: str) -> None:
            if self._refusal is None:
                self._refusal = (status, error, message)

        def send_400_response(self, msg: str) -> None:
            """Every parser error, ours included, as the gateway's JSON error."""
            status, error, message = self._refusal or (
                400,
                "bad_request",
                "the request is not valid HTTP/1.1",
            )
            self.transport.write(error_response(status, error, message))
            self.transport.close()

    return LimitedHttpToolsProtocol
