"""The gateway's Prometheus metrics (names in `longtask.core.metrics`) and the ASGI middleware
that counts requests by route template, method and code.

Latency is measured to the start of the response, so a long-lived SSE stream counts as fast
as its first byte rather than as long as the client stayed.
"""

from __future__ import annotations

import time
from typing import Final

from fastapi import HTTPException
from longtask.api import errors
from longtask.core import metrics, wire
from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED: Final = "<unmatched>"

REQUESTS: Final = Counter(
    metrics.HTTP_REQUESTS, "Gateway requests by route template, method and status code.",
    ["route", "method", "code"],
)  # fmt: skip
LATENCY: Final = Histogram(
    metrics.HTTP_LATENCY, "Time to the start of the response, by route template and method.",
    ["route", "method"],
)  # fmt: skip
SSE_CLIENTS: Final = Gauge(metrics.SSE_CLIENTS, "Open event streams (SSE and WebSocket).")
SSE_EVENTS_SENT: Final = Counter(metrics.SSE_EVENTS_SENT, "Events sent to stream clients.")
SSE_CLIENTS_DROPPED: Final = Counter(
    metrics.SSE_CLIENTS_DROPPED, "Stream clients cut off because they fell behind."
)
FOLLOWED_STREAMS: Final = Gauge(
    metrics.FOLLOWED_STREAMS, "Redis streams the gateway's one reader follows now."
)
FOLLOWED_WATCHES: Final = Gauge(
    metrics.FOLLOWED_WATCHES, "Namespaces whose LongTasks the gateway watches now."
)


class MetricsMiddleware:
    """Counts every HTTP request by the route template it matched (not the raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                route = getattr(scope.get("route"), "path", UNMATCHED)
                LATENCY.labels(route, scope["method"]).observe(time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            REQUESTS.labels(route, scope["method"], str(status["code"])).inc()


class BodyLimitMiddleware:
    """Refuses request bodies larger than `limit` bytes with a JSON 413: at once by
    Content-Length, or while reading a chunked body (FastAPI re-raises an HTTPException raised
    by `receive`, and the error handlers shape it)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the request body exceeds {self.limit} bytes"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await errors.response(wire.ApiError(413, "too_large", message))(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            received = await receive()
            seen += len(received.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, message)
            return received

        await self.app(scope, limited_receive, send)
