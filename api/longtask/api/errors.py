"""Every error the gateway answers, as JSON `{"error", "message", "details"}`.

Routes raise `wire.ApiError` (the one error shape, shared with the client); the handlers
installed by `install` turn it, validation errors, malformed JSON, HTTP errors, Kubernetes API
errors, Redis and history database outages into that JSON with the right status code. Bad input
never yields a 5xx; a 5xx says the cluster, Redis or the history database is unwell. A
Kubernetes 404 in a namespace that does not exist says that the namespace is missing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.core import wire
from longtask.core.wire import ApiError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

# Kubernetes status code → (gateway status code, error code).
_KUBE_STATUS: Final[dict[int, tuple[int, str]]] = {
    400: (400, "bad_request"),
    401: (502, "kubernetes_unauthorized"),  # the gateway's own credentials were refused
    403: (403, "forbidden"),
    404: (404, "not_found"),
    405: (405, "method_not_allowed"),
    409: (409, "conflict"),
    410: (410, "expired"),
    413: (413, "too_large"),
    415: (400, "bad_request"),
    422: (422, "invalid"),
    429: (429, "too_many_requests"),
    504: (504, "kubernetes_timeout"),
}


def body(error: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": error, "message": message, "details": details}


def response(err: ApiError) -> JSONResponse:
    return JSONResponse(
        body(err.error, err.message, err.details), status_code=err.status, headers=err.headers
    )


def _field(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Field-level messages: where, what, and pydantic's error type (no input echoed back)."""
    details = []
    for err in errors:
        message = str(err.get("msg", "invalid value"))
        loc = tuple(err.get("loc", ()))
        if err.get("type") == wire.JSON_NUMBER_ERROR:
            # Where inside the field (params.items.2): the field's name alone does not say.
            ctx = err.get("ctx") or {}
            loc += tuple(ctx.get("path") or ())
            message = str(ctx.get("problem") or message)
        details.append({"field": _field(loc), "message": message, "type": err.get("type")})
    return details


def from_validation(exc: RequestValidationError) -> ApiError:
    errors = list(exc.errors())
    if any(err.get("type") == "json_invalid" for err in errors):
        return ApiError(400, "malformed_json", "the request body is not valid JSON")
    details = validation_details(errors)
    first = details[0] if details else {"field": "", "message": "invalid request"}
    summary = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    if len(details) > 1:
        summary += f" (and {len(details) - 1} more)"
    return ApiError(422, "invalid", summary, details)


def kube_status_message(exc: ApiException) -> tuple[str, Any]:
    """The message and causes of a Kubernetes Status body, when there is one."""
    try:
        status = json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        status = {}
    if not isinstance(status, dict):
        status = {}
    message = str(status.get("message") or exc.reason or "Kubernetes API error")
    causes = (status.get("details") or {}).get("causes") if isinstance(status, dict) else None
    return message, causes


def from_kube(exc: ApiException) -> ApiError:
    """The gateway error for a Kubernetes API error."""
    message, causes = kube_status_message(exc)
    code = int(exc.status or 0)
    if code in _KUBE_STATUS:
        status, error = _KUBE_STATUS[code]
    elif code >= 500:
        status, error = 503, "kubernetes_unavailable"
    else:
        status, error = 502, "kubernetes_error"
    return ApiError(status, error, message, causes)


# PostgreSQL's code for a missing table; SQLite says "no such table" in its message.
_UNDEFINED_TABLE: Final = "42P01"


def from_history(exc: SQLAlchemyError) -> ApiError:
    """503 for a history database error; a database without the history's tables (not yet
    migrated: the operator migrates it when it starts) says so instead of "unreachable"."""
    cause = getattr(exc, "orig", None)
    if getattr(cause, "sqlstate", None) == _UNDEFINED_TABLE or "no such table" in str(cause):
        return ApiError(
            503,
            "history_unavailable",
            "the history database has no tables yet: the operator creates them when it starts "
            "(or run `longtask-history migrate`)",
        )
    return ApiError(503, "history_unavailable", "the history database is unreachable now")


def _status_error(code: int) -> str:
    if code == 413:
        return "too_large"  # the same code as the Content-Length check
    try:
        return HTTPStatus(code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def install(app: FastAPI) -> None:
    """Install the handlers that give every error the JSON shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return response(from_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else _status_error(exc.status_code)
        return JSONResponse(
            body(_status_error(exc.status_code), message),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(ApiException)
    async def _kube(request: Request, exc: ApiException) -> JSONResponse:
        namespace = request.path_params.get("namespace")
        if exc.status == 404 and namespace:
            # Say so when it is the namespace, not the task, that is missing.
            try:
                await request.app.state.runtime.namespaces.require(namespace)
            except ApiError as missing:
                return response(missing)
        err = from_kube(exc)
        if err.status >= 500:
            log.warning("Kubernetes API error %s: %s", exc.status, err.message)
        return response(err)

    @app.exception_handler(SQLAlchemyError)
    async def _history(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.warning("history database error: %s", type(exc).__name__)
        return response(from_history(exc))

    @app.exception_handler(RedisError)
    async def _redis(_: Request, exc: RedisError) -> JSONResponse:
        log.warning("Redis error: %s: %s", type(exc).__name__, exc)
        return response(ApiError(503, "redis_unavailable", "Redis is unreachable; retry later"))

    @app.exception_handler(TimeoutError)
    async def _timeout(_: Request, exc: TimeoutError) -> JSONResponse:
        return response(ApiError(504, "timeout", "a backend did not answer in time"))

    @app.exception_handler(OSError)
    async def _oserror(_: Request, exc: OSError) -> JSONResponse:
        log.warning("backend unreachable: %s", type(exc).__name__)
        return response(ApiError(503, "unavailable", "a backend is unreachable; retry later"))
