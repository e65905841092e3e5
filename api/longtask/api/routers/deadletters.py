"""Dead letters: tasks whose attempts were exhausted, newest first, from the Redis stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query
from longtask.api import deps
from longtask.api.streaming import streamids
from longtask.api.streaming.hub import rows
from longtask.core import deadletters, keys, wire
from longtask.core.wire import ApiError
from redis.exceptions import RedisError

router = APIRouter(tags=["deadletters"])

PAGE = 200
# Pages read per request at most when filtering by namespace (bounded work per call).
MAX_PAGES = 25


def dead_letter(entry_id: str, fields: Mapping[Any, Any]) -> wire.DeadLetter:
    text = deadletters.text_fields(fields)
    try:
        letter = deadletters.decode(text)
    except ValueError:  # not the operator's shape: show what it has
        return wire.DeadLetter(
            id=entry_id, namespace=text.get("namespace"), name=text.get("name"), fields=text
        )
    return wire.DeadLetter(id=entry_id, **letter, fields=text)


@router.get(
    "/v1/deadletters",
    response_model=wire.DeadLetterList,
    responses={code: {"model": wire.Error} for code in (401, 403, 422, 503)},
    summary="Dead-lettered tasks, newest first",
)
async def list_dead_letters(
    runtime: deps.RuntimeDep,
    principal: deps.PrincipalDep,
    namespace: Annotated[
        str | None,
        Query(pattern=wire.NAMESPACE_PATTERN, max_length=63, description="Only this one."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        str | None, Query(max_length=streamids.MAX_LEN, description="Older than this id.")
    ] = None,
) -> wire.DeadLetterList:
    # Without a namespace the caller must be allowed to list tasks in every namespace.
    await deps.authorise(runtime, principal, "list", namespace)
    end = "+"
    if before is not None and before.strip():
        try:
            point = streamids.resume_point(None, before)
        except ValueError as exc:
            raise ApiError(422, "invalid", f"before: {exc}") from None
        if point == streamids.START:
            return wire.DeadLetterList(items=[], next=None)  # nothing is older than the start
        end = f"({point}"
    items: list[wire.DeadLetter] = []
    last: str | None = None
    more = True
    try:
        for _ in range(MAX_PAGES):
            if not more or len(items) >= limit:
                break
            page = rows(
                await runtime.redis.xrevrange(keys.DEADLETTER, max=end, min="-", count=PAGE)
            )
            more = len(page) == PAGE
            for entry_id, fields in page:
                last = entry_id
                letter = dead_letter(last, fields)
                if namespace is None or letter.namespace == namespace:
                    items.append(letter)
                if len(items) == limit:
                    more = more or entry_id != page[-1][0]
                    break
            if last is not None:
                end = f"({last}"
    except RedisError:
        raise ApiError(503, "redis_unavailable", "dead letters live in Redis") from None
    return wire.DeadLetterList(items=items, next=last if more and last else None)
