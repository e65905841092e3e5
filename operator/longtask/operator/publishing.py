"""Writes to Redis: phase changes and the end event into each task's stream, the state hash, the
dead-letter stream; and reads of heartbeats for stall detection and of finished tasks' log tails
for the history.

Redis never blocks a transition: the status in Kubernetes is written first and is the truth, and
writes are only queued by the reconcilers; one background loop sends them, in order. A failed
write is logged and counted and stays queued (bounded) for the next try, so a short Redis outage
loses no phase or end event. Short socket timeouts keep a hung Redis from holding the loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from longtask.core import deadletters, events, keys, outputs, redisurls, resource
from longtask.core.resource import Phase, Reason
from redis.exceptions import RedisError

from .reconcile import Transition

logger = logging.getLogger(__name__)

SOCKET_TIMEOUT_SECONDS = 2.0
BACKLOG_MAX = 10_000
OUTPUT_PAGE = 2000  # entries of an output stream per XRANGE, archiving


@dataclasses.dataclass(frozen=True)
class Command:
    """One Redis write: xadd (fields, maxlen in `number`, trimmed approximately unless
    `exact`), hset (fields) or expire (`number`)."""

    op: str
    key: str
    fields: Mapping[str, str] | None = None
    number: int = 0
    exact: bool = False


def task_commands(
    uid: str,
    transitions: Sequence[Transition],
    deadletter: deadletters.DeadLetter | None,
    maxlen: int = keys.EVENTS_MAXLEN,
) -> list[Command]:
    """The writes that tell Redis readers about `transitions` of task `uid` (pure)."""
    out: list[Command] = []
    for change in transitions:
        status = events.status(change.attempt, change.new, change.reason, change.message)
        out.append(Command("xadd", keys.events(uid), events.encode(status), maxlen))
        out.append(
            Command(
                "hset",
                keys.state(uid),
                {keys.STATE_PHASE: change.new.value, keys.STATE_ATTEMPT: str(change.attempt)},
            )
        )
        if change.new.is_final:
            end = events.end(change.attempt, change.new, change.reason, change.message)
            out.append(Command("xadd", keys.events(uid), events.encode(end), maxlen))
            for key in (
                keys.events(uid),
                keys.state(uid),
                keys.logs(uid),
                keys.output(uid),
                keys.output_head(uid),
                keys.checkpoint(uid),
                keys.result(uid),
            ):
                out.append(Command("expire", key, number=keys.FINISHED_TTL_SECONDS))
    if deadletter is not None:
        fields = deadletters.encode(deadletter)
        out.append(Command("xadd", keys.DEADLETTER, fields, keys.DEADLETTER_MAXLEN))
    return out


def repair_commands(
    uid: str, status: resource.Status, published_phase: str | None
) -> list[Command]:
    """The writes that bring a task's stream up to its status when Redis missed the last phase
    change (the operator died between patching the status and writing to Redis), or nothing
    when the state hash already has the phase (pure)."""
    phase = resource.phase_of(status)
    if phase is None or phase == published_phase:
        return []
    try:
        reason = Reason(status.get("reason") or "")
    except ValueError:
        reason = Reason.COMPLETED if phase is Phase.SUCCEEDED else Reason.ATTEMPT_FAILED
    change = Transition(
        old=None,
        new=phase,
        reason=reason,
        message=str(status.get("message") or ""),
        attempt=int(status.get("attempt") or 0),
    )
    return task_commands(uid, [change], None)


class Publisher:
    """Redis writes of the operator, tolerant of Redis being away."""

    def __init__(
        self,
        url: str,
        on_error: Callable[[], None] = lambda: None,
        may_write: Callable[[], bool] = lambda: True,
    ) -> None:
        """`may_write`: the leadership guard; writes queued while it says no are dropped."""
        self._client: aioredis.Redis | None = (
            redisurls.client(
                url,
                decode_responses=True,
                socket_timeout=SOCKET_TIMEOUT_SECONDS,
                socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            )
            if url
            else None
        )
        self._backlog: collections.deque[Command] = collections.deque(maxlen=BACKLOG_MAX)
        self._on_error = on_error
        self._may_write = may_write
        self._master: tuple[str, int] | None = None
        self._wakeup = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self._client is not None

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    async def _execute(self, commands: Iterable[Command]) -> None:
        assert self._client is not None
        # MULTI/EXEC: a batch lands whole or not at all, so a retried batch never doubles an
        # end event, and a phase in the state hash implies its events are in the stream.
        pipe = self._client.pipeline(transaction=True)
        for cmd in commands:
            if cmd.op == "xadd":
                pipe.xadd(
                    cmd.key,
                    cast(Any, dict(cmd.fields or {})),
                    maxlen=cmd.number,
                    approximate=not cmd.exact,
                )
            elif cmd.op == "hset":
                pipe.hset(cmd.key, mapping=cast(Any, dict(cmd.fields or {})))
            elif cmd.op == "expire":
                pipe.expire(cmd.key, cmd.number)
        await pipe.execute()

    def submit(self, commands: Sequence[Command]) -> None:
        """Queue `commands` for the background loop (never waits for Redis)."""
        if self._client is None or not commands:
            return
        self._backlog.extend(commands)
        self._wakeup.set()

    async def run(self, retry_seconds: float = 1.0) -> None:
        """Send queued writes until cancelled; after a failure, try again in `retry_seconds`."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=retry_seconds)
            self._wakeup.clear()
            try:
                await self.flush()
            except Exception:  # a bug in one write must not stop all later ones
                logger.exception("redis publishing failed; writes of this round dropped")

    def drop(self) -> None:
        """Forget the writes not sent (this replica stopped leading: the next leader repairs)."""
        if self._backlog:
            logger.warning("not leading: %d redis writes dropped", len(self._backlog))
        self._backlog.clear()

    async def flush(self) -> bool:
        if self._client is None or not self._backlog:
            return True
        if not self._may_write():
            self.drop()
            return False
        # Take the backlog; writes queued meanwhile go to a fresh one and follow in order.
        pending, self._backlog = self._backlog, collections.deque(maxlen=BACKLOG_MAX)
        try:
            await self._execute(pending)
        except (RedisError, OSError) as exc:
            self._on_error()
            logger.warning(
                "redis write failed; %d writes kept for retry: %s", len(pending), type(exc).__name__
            )
            pending.extend(self._backlog)  # over BACKLOG_MAX, the oldest writes go first
            self._backlog = pending
            return False
        return True

    async def _state_field(self, uids: Sequence[str], field: str) -> list[Any] | None:
        """One field of each task's state hash, or None when Redis cannot say."""
        if self._client is None:
            return None
        if not uids:
            return []
        pipe = self._client.pipeline(transaction=False)
        for uid in uids:
            pipe.hget(keys.state(uid), field)
        try:
            return list(await pipe.execute())
        except (RedisError, OSError) as exc:
            self._on_error()
            logger.warning("redis read of %s failed: %s", field, type(exc).__name__)
            return None

    async def phases(self, uids: Sequence[str]) -> dict[str, str | None] | None:
        """The phase each task's state hash holds (None: never written), or None if unknown."""
        values = await self._state_field(uids, keys.STATE_PHASE)
        return None if values is None else dict(zip(uids, values, strict=True))

    async def heartbeats(self, uids: Sequence[str]) -> dict[str, int] | None:
        """Last heartbeat (unix ms, 0 = none) of each task, or None when Redis cannot say."""
        values = await self._state_field(uids, keys.STATE_HEARTBEAT)
        if values is None:
            return None
        out: dict[str, int] = {}
        for uid, value in zip(uids, values, strict=True):
            try:
                out[uid] = int(float(value)) if value is not None else 0
            except (TypeError, ValueError):
                out[uid] = 0
        return out

    async def log_tails(
        self, uids: Sequence[str], count: int
    ) -> dict[str, list[dict[str, str]]] | None:
        """The last `count` entries (fields) of each task's log stream, oldest first; None when
        Redis cannot say now ({} without Redis: there are no logs to wait for)."""
        if self._client is None or not uids or count <= 0:
            return {}
        pipe = self._client.pipeline(transaction=False)
        for uid in uids:
            pipe.xrevrange(keys.logs(uid), count=count)
        try:
            replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._on_error()
            logger.warning("redis read of log tails failed: %s", type(exc).__name__)
            return None
        return {
            uid: [dict(fields) for _, fields in reversed(entries or [])]
            for uid, entries in zip(uids, replies, strict=True)
        }

    async def outputs(self, uids: Sequence[str]) -> dict[str, outputs.Assembly] | None:
        """Each task's output, folded from its output stream (bounded by the runners' output
        limits); None when Redis cannot say now ({} without Redis). Read newest first with
        XREVRANGE, the one range read the operator's Redis user has (log tails use it too)."""
        if self._client is None:
            return {}
        found: dict[str, outputs.Assembly] = {}
        try:
            for uid in uids:
                entries: list[tuple[str, dict[str, str]]] = []
                cursor = "+"
                while True:
                    reply = await self._client.xrevrange(
                        keys.output(uid), max=cursor, count=OUTPUT_PAGE
                    )
                    page = cast(list[tuple[str, dict[str, str]]], reply or [])
                    entries.extend(page)
                    if len(page) < OUTPUT_PAGE:
                        break
                    cursor = "(" + str(page[-1][0])
                assembly = outputs.Assembly()
                for _, fields in reversed(entries):
                    with contextlib.suppress(ValueError):
                        assembly.apply(events.decode(fields))
                if assembly.chunks:
                    found[uid] = assembly
        except (RedisError, OSError) as exc:
            self._on_error()
            logger.warning("redis read of outputs failed: %s", type(exc).__name__)
            return None
        return found

    async def failed_over(self) -> bool:
        """Whether Redis's master changed since the last call (Sentinel; False otherwise): the
        new master may lack the last writes, so every stream deserves another look."""
        if self._client is None or not redisurls.is_managed(self._client):
            return False
        try:
            master = await redisurls.master_address(self._client)
        except (RedisError, OSError):
            return False
        changed = self._master is not None and master != self._master
        self._master = master
        return changed

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
