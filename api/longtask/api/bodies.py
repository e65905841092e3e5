"""Request bodies read with core's `jsonvalues.loads`, for the routes that take JSON.

Starlette reads a body with `json.loads`, which fails a whole document on an integer longer than
Python's int conversion limit (4,300 digits) and reports it as malformed JSON. Read this way, such
an integer reaches validation and is refused like any out-of-range number: a 422 naming the field
that holds it. NaN, Infinity and 1e400 are read as floats and refused the same way there.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from longtask.core import jsonvalues


class JsonValuesRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = jsonvalues.loads(await self.body())
        return self._json


class JsonValuesRoute(APIRoute):
    """A route whose JSON body is read by `jsonvalues.loads`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_with_jsonvalues(request: Request) -> Response:
            return await handler(JsonValuesRequest(request.scope, request.receive))

        return read_with_jsonvalues
