"""Entry point of the gateway: assembles the routers into the app and runs uvicorn.

    longtask-gateway [--host H] [--port P] [--auth-mode apikey] [--api-key-file FILE]
    longtask-gateway hash-key < key.txt   # prints the SHA-256 to put in LONGTASK_API_KEYS

Every setting is also read from LONGTASK_* variables (see `settings`). A plaintext key for all
namespaces comes from LONGTASK_API_KEY or --api-key-file (not a flag: flags show in `ps`).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import prometheus_client
import uvicorn
from fastapi import FastAPI
from longtask.api import apikeys, deps, errors, httplimits, runtime
from longtask.api.observability import BodyLimitMiddleware, MetricsMiddleware
from longtask.api.routers import (
    apidocs,
    dashboard,
    deadletters,
    events,
    health,
    history,
    kubeevents,
    logs,
    outputs,
    queues,
    results,
    schedules,
    summary,
    tasks,
)
from longtask.api.settings import AuthMode, Settings
from longtask.api.streaming import responses
from pydantic import SecretStr

log = logging.getLogger("longtask.gateway")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway app; resources open when it starts and close when it stops."""
    settings = settings or deps.get_settings()
    runtime.check(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = await runtime.open_runtime(settings)
        scrape = None
        if settings.metrics_port:  # its own port: the API port's /metrics answers 404
            scrape, _ = prometheus_client.start_http_server(
                settings.metrics_port, addr=settings.host
            )
        try:
            yield
        finally:
            if scrape is not None:
                scrape.shutdown()
                scrape.server_close()
            await app.state.runtime.close()

    app = FastAPI(
        title="longtask gateway",
        version="0.1.0",
        description="Submit, list, control and follow long-running tasks (LongTask resources).",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load their scripts from a CDN: `apidocs` serves ours
        redoc_url=None,
    )
    errors.install(app)
    routers = (
        tasks,
        results,
        kubeevents,
        summary,
        events,
        logs,
        outputs,
        deadletters,
        history,
        schedules,
        queues,
        health,
    )
    for module in (*routers, dashboard, apidocs):
        app.include_router(module.router, responses=httplimits.RESPONSES)
    app.mount("/static", dashboard.static_files(), name="static")
    app.mount(apidocs.ASSETS, apidocs.static_files(), name="docs-assets")
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    return app


class RedactTokens(logging.Filter):
    """Removes `token=` query values (stream tokens) from access log lines."""

    PATTERN = re.compile(r"(token=)[^&\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.PATTERN.sub(r"\1<redacted>", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="longtask-gateway", description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=["serve", "hash-key"], default="serve")
    parser.add_argument("--host", help="address to bind (LONGTASK_HOST)")
    parser.add_argument("--port", type=int, help="port to bind (LONGTASK_PORT)")
    parser.add_argument("--auth-mode", choices=[m.value for m in AuthMode])
    parser.add_argument(
        "--api-key-file", help="file holding one plaintext key valid in all namespaces"
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.auth_mode:
        overrides["auth_mode"] = AuthMode(args.auth_mode)
    if args.api_key_file:
        with open(args.api_key_file) as handle:
            overrides["api_key"] = SecretStr(handle.read().strip())
    return Settings(**overrides)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "hash-key":
        print(apikeys.hash_key(sys.stdin.read().strip()))
        return
    settings = settings_from(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    try:
        app = create_app(settings)
    except ValueError as exc:
        log.error("refusing to start: %s", exc)
        sys.exit(2)
    limits = httplimits.Limits(
        url_bytes=settings.max_url_bytes,
        header_line_bytes=settings.max_header_line_bytes,
        headers=settings.max_headers,
        head_bytes=settings.max_head_bytes,
    )
    uvicorn.run(
        responses.bare_send(app),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=3,
        http=httplimits.protocol(limits),
    )
