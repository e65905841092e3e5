"""Which namespaces exist, so that a call about an unknown one answers 404 instead of an empty
list (the API server lists the LongTasks of a namespace that does not exist as none at all) or
a 404 about a task. Asked only when a call found nothing, so the usual call costs nothing more.

A namespace seen to exist is remembered for `ttl_seconds`, so the check costs one read per
namespace per interval; one not found is asked again each time (it may be created any moment).
When the gateway may not read namespaces (a narrower role), every namespace counts as existing:
the check only sharpens errors, it never refuses what the API server would allow.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final

from longtask.core.wire import ApiError

DEFAULT_TTL_SECONDS: Final = 60.0


class Namespaces:
    def __init__(
        self,
        exists: Callable[[str], Awaitable[bool | None]],
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`exists` answers True, False, or None when it cannot tell (no right to read)."""
        self._exists = exists
        self._ttl = ttl_seconds
        self._clock = clock
        self._seen: dict[str, float] = {}

    async def require(self, namespace: str) -> None:
        """Raises a 404 ApiError when `namespace` does not exist."""
        now = self._clock()
        if self._seen.get(namespace, -1.0) > now:
            return
        found = await self._exists(namespace)
        if found is False:
            self._seen.pop(namespace, None)
            raise not_found(namespace)
        self._seen[namespace] = now + self._ttl


def not_found(namespace: str) -> ApiError:
    return ApiError(404, "namespace_not_found", f"namespace {namespace!r} does not exist")
