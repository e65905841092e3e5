"""The suspend and resume routes of a resource that has `spec.suspend` (queues, schedules).

Both set spec.suspend, as `kubectl patch` would, authorised with `patch` on the resource's
plural, and answer the resource as its router shows it. The routers add them with `add_routes`.

No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations, and
those of a function made in `add_routes` name its arguments, which only evaluated annotations
can see.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.params import Path
from longtask.api import deps
from longtask.api.runtime import Runtime

# The resource as the router answers it, from the patched object.
View = Callable[[Runtime, dict[str, Any]], Awaitable[Any]]


def add_routes(
    router: APIRouter,
    collection: str,
    *,
    plural: str,
    name: Path,
    view: View,
    response_model: type[Any],
    responses: dict[int | str, dict[str, Any]],
    summaries: tuple[str, str],
) -> None:
    """POST `/{collection}/{name}/suspend` and `/resume` on `router` for the resource of
    Kubernetes plural `plural`, with `summaries` (suspend's, resume's); `name` is the path
    parameter's validation."""
    for action, suspended, summary in zip(
        ("suspend", "resume"), (True, False), summaries, strict=True
    ):
        router.add_api_route(
            f"/{collection}/{{name}}/{action}",
            _endpoint(plural, name, view, suspended),
            methods=["POST"],
            name=action,
            response_model=response_model,
            responses=responses,
            summary=summary,
        )


def _endpoint(plural: str, name_path: Path, view: View, suspended: bool) -> Callable[..., Any]:
    async def endpoint(
        namespace: deps.Namespace,
        name: Annotated[str, name_path],
        runtime: deps.RuntimeDep,
        _: Annotated[object, Depends(deps.allow("patch", plural))],
    ) -> Any:
        patch = {"spec": {"suspend": suspended}}
        return await view(runtime, await runtime.kube.patch(namespace, name, patch, plural=plural))

    return endpoint
