"""Writes a task's events, state, logs, output, checkpoint and result to Redis (keys from
`core.keys`).

Every call either finishes or raises quickly: socket timeouts are short and redis-py's own retry
is limited to one immediate reconnect, because the reporter owns the backoff policy and must stay
responsive while Redis is down.
"""

from __future__ import annotations

import json
from typing import Final

import redis.asyncio as aioredis
from longtask.core import events, keys, redisurls
from longtask.runner.outbox import Batch
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

SOCKET_TIMEOUT_SECONDS: Final = 3.0


class RedisSink:
    """The Redis side of one attempt's reporting."""

    def __init__(
        self,
        url: str,
        uid: str,
        attempt: int,
        *,
        events_maxlen: int = keys.EVENTS_MAXLEN,
        logs_maxlen: int = keys.LOGS_MAXLEN,
    ) -> None:
        self._uid = uid
        self._attempt = attempt
        self._events_maxlen = events_maxlen
        self._logs_maxlen = logs_maxlen
        self._client: aioredis.Redis = redisurls.client(
            url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 1),
        )

    async def write(self, batch: Batch) -> None:
        pipe = self._client.pipeline(transaction=False)
        for line in batch.logs:
            pipe.xadd(
                keys.logs(self._uid),
                {"line": line, "attempt": str(self._attempt)},
                maxlen=self._logs_maxlen,
                approximate=True,
            )
        for event in batch.events:
            pipe.xadd(
                keys.events(self._uid),
                events.encode(event),  # type: ignore[arg-type]
                maxlen=self._events_maxlen,
                approximate=True,
            )
        for event in batch.output_events:
            # Never trimmed: the runner's output limits bound it (`core.outputs`).
            pipe.xadd(keys.output(self._uid), events.encode(event))  # type: ignore[arg-type]
        if batch.output_head is not None:
            head = json.dumps(batch.output_head.to_json())
            pipe.set(keys.output_head(self._uid), head, ex=keys.FINISHED_TTL_SECONDS)
        if batch.state:
            pipe.hset(keys.state(self._uid), mapping=batch.state)  # type: ignore[arg-type]
        if batch.checkpoint is not None:
            pipe.set(keys.checkpoint(self._uid), batch.checkpoint, ex=keys.FINISHED_TTL_SECONDS)
        if batch.refresh_ttl:
            # The operator expires a finished task's keys; this is a backstop so that an
            # abandoned task's keys do not outlive it for ever.
            for key in (
                keys.events(self._uid),
                keys.state(self._uid),
                keys.logs(self._uid),
                keys.output(self._uid),
            ):
                pipe.expire(key, keys.FINISHED_TTL_SECONDS)
        await pipe.execute()

    async def read_resume(self) -> tuple[str | None, str | None]:
        """The stored checkpoint and output head (either None when absent)."""
        pipe = self._client.pipeline(transaction=False)
        pipe.get(keys.checkpoint(self._uid))
        pipe.get(keys.output_head(self._uid))
        checkpoint, head = await pipe.execute()
        return checkpoint, head

    async def store_result(self, encoded: str) -> str:
        """Stores a large result; returns the key that `status.resultRef` names."""
        key = keys.result(self._uid)
        await self._client.set(key, encoded, ex=keys.FINISHED_TTL_SECONDS)
        return key

    async def close(self) -> None:
        await self._client.aclose()
