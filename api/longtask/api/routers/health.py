"""Liveness, readiness (Kubernetes API and Redis checked separately) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from longtask.api import deps
from longtask.core import wire
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = 3.0


@router.get("/healthz", response_model=wire.Health, summary="The process is alive")
async def healthz() -> wire.Health:
    return wire.Health()


async def _check(probe: object) -> wire.Check:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe  # type: ignore[misc]
    except Exception as exc:  # any failure means "not reachable"; say which kind, no secrets
        return wire.Check(ok=False, error=type(exc).__name__)
    return wire.Check(ok=True)


@router.get(
    "/readyz",
    response_model=wire.Readiness,
    responses={503: {"model": wire.Readiness}},
    summary="Whether the Kubernetes API answers (503 if not); Redis reported beside it",
)
async def readyz(runtime: deps.RuntimeDep) -> JSONResponse:
    """Ready means the Kubernetes API answers. Redis is reported but does not gate readiness:
    without it the gateway still serves the API and follows tasks from LongTask watches, and
    taking every replica out of its Service during a Redis outage would cut that fallback off."""
    kube, redis = await asyncio.gather(_check(runtime.kube.ping()), _check(runtime.redis.ping()))
    ready = wire.Readiness(ready=kube.ok, kubernetes=kube, redis=redis)
    return JSONResponse(ready.model_dump(mode="json"), status_code=200 if ready.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: deps.RuntimeDep) -> Response:
    if runtime.settings.metrics_port:
        raise wire.ApiError(
            404, "not_found", f"metrics are served on port {runtime.settings.metrics_port}"
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
