"""Liveness, readiness (Kubernetes API and Redis checked separately) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from longtask.api import deps, schemas
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = 3.0


@router.get("/healthz", response_model=schemas.Health, summary="The process is alive")
async def healthz() -> schemas.Health:
    return schemas.Health()


async def _check(probe: object) -> schemas.Check:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe  # type: ignore[misc]
    except Exception as exc:  # any failure means "not reachable"; say which kind, no secrets
        return schemas.Check(ok=False, error=type(exc).__name__)
    return schemas.Check(ok=True)


@router.get(
    "/readyz",
    response_model=schemas.Readiness,
    responses={503: {"model": schemas.Readiness}},
    summary="Whether the Kubernetes API and Redis answer (503 unless both do)",
)
async def readyz(runtime: deps.RuntimeDep) -> JSONResponse:
    kube, redis = await asyncio.gather(_check(runtime.kube.ping()), _check(runtime.redis.ping()))
    ready = schemas.Readiness(ready=kube.ok and redis.ok, kubernetes=kube, redis=redis)
    return JSONResponse(ready.model_dump(mode="json"), status_code=200 if ready.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
