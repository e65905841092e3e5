"""Dependencies shared by the routers: settings, runtime, path parameters, auth checks.

`get_settings` is cached and overridden by tests; `allow(verb, plural)` authenticates the caller
and authorises the verb on `longtasks` (or `longtaskschedules`) in the path's namespace;
`stream_access` also accepts a stream token scoped to the task (for browsers' EventSource).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from longtask.api import auth, streamtokens
from longtask.api.runtime import Runtime
from longtask.api.settings import Settings
from longtask.core import resource, wire
from longtask.core.wire import ApiError
from starlette.requests import HTTPConnection

Namespace = Annotated[
    str,
    Path(
        pattern=wire.NAMESPACE_PATTERN,
        max_length=63,
        description="The namespace (a DNS label).",
    ),
]
TaskName = Annotated[
    str, Path(pattern=wire.NAME_PATTERN, max_length=63, description="The task's name.")
]
StreamTokenQuery = Annotated[
    str | None,
    Query(
        max_length=streamtokens.MAX_TOKEN_CHARS,
        description="A stream token (POST …/stream-token) instead of an Authorization header.",
    ),
]


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment, read once (tests override this dependency)."""
    from_environment: dict[str, Any] = {}
    return Settings(**from_environment)


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


async def _runtime(conn: HTTPConnection) -> Runtime:
    # A coroutine: FastAPI runs a plain function dependency in a worker thread, a thread hop per
    # request for an attribute read.
    return get_runtime(conn)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def unauthorized(message: str = "a valid bearer token is required") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(verb: str, namespace: str | None, plural: str = resource.PLURAL) -> ApiError:
    where = f"in namespace {namespace!r}" if namespace else "in all namespaces"
    return ApiError(403, "forbidden", f"not allowed to {verb} {plural} {where}")


async def get_principal(conn: HTTPConnection, runtime: RuntimeDep) -> auth.Principal:
    token = auth.bearer(conn.headers.get("authorization"))
    principal = await runtime.authorizer.authenticate(token)
    if principal is None:
        raise unauthorized()
    return principal


PrincipalDep = Annotated[auth.Principal, Depends(get_principal)]


async def authorise(
    runtime: Runtime,
    principal: auth.Principal,
    verb: str,
    namespace: str | None,
    plural: str = resource.PLURAL,
) -> None:
    if not await runtime.authorizer.allowed(principal, verb, namespace, plural):
        raise forbidden(verb, namespace, plural)


def allow(verb: str, plural: str = resource.PLURAL) -> Callable[..., Awaitable[auth.Principal]]:
    """A dependency: the caller, allowed to `verb` the resource `plural` (longtasks by default)
    in the path's namespace."""

    async def dependency(
        namespace: Namespace, principal: PrincipalDep, runtime: RuntimeDep
    ) -> auth.Principal:
        await authorise(runtime, principal, verb, namespace, plural)
        return principal

    return dependency


async def check_stream_access(
    conn: HTTPConnection, runtime: Runtime, scope: streamtokens.Scope, token: str | None, verb: str
) -> None:
    """A valid stream token for exactly this scope, or a caller allowed to `verb`."""
    if token:
        if not runtime.signer.verify(token, scope, time.time()):
            raise unauthorized("the stream token is invalid, expired or for another stream")
        return
    principal = await get_principal(conn, runtime)
    await authorise(runtime, principal, verb, scope.namespace)


async def task_stream_access(
    conn: HTTPConnection,
    namespace: Namespace,
    name: TaskName,
    runtime: RuntimeDep,
    token: StreamTokenQuery = None,
) -> None:
    await check_stream_access(conn, runtime, streamtokens.Scope(namespace, name), token, "get")


async def namespace_stream_access(
    conn: HTTPConnection, namespace: Namespace, runtime: RuntimeDep, token: StreamTokenQuery = None
) -> None:
    await check_stream_access(conn, runtime, streamtokens.Scope(namespace), token, "watch")
