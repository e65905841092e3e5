"""Redis ACL users of tasks: created before a task's Job, re-created when Redis lost them, removed
once the task has ended or is gone.

ACL users live in the Redis server's memory: a restart or a failover loses every task's user
while its pods keep their passwords. So the users are kept level-triggered, like the tasks: every
sweep compares the task users Redis has (one `ACL USERS`) with what the tasks of the store need
(`plan`), creates the missing and removes the unneeded. The runner retries and buffers while its
user is missing, exactly as while Redis is down.

Design choices:
1. The user is created before the task's Job, with its Secret; the Secret must exist (the pod
   reads its URL from it) but the user is best effort: when Redis is away the Job is created
   anyway and a later sweep creates the user (Redis never blocks a transition).
2. A cancelled task keeps its user for the pod's grace period: the terminating runner may still
   write its last log lines. Any other end removes it at the next sweep (the pod has exited).
3. Only users of served namespaces are touched: several operators may share one Redis. A user
   whose task the store does not know (deleted while the operator was away, or the store still
   filling after a start) is removed only when a list of its namespace's LongTasks confirms that
   the task is gone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
from collections.abc import Awaitable, Callable, Iterable

import redis.asyncio as aioredis
from longtask.core import redisurls, redisusers, resource
from longtask.core.resource import LongTask, Phase
from redis.exceptions import RedisError

from . import clock, credentials
from .settings import Settings

logger = logging.getLogger(__name__)

SOCKET_TIMEOUT_SECONDS = 2.0


class Need(enum.Enum):
    """What a task needs of its user now."""

    USER = "user"  # create it when missing
    KEEP = "keep"  # neither create nor remove (not started yet, or a cancelled pod's grace)
    NONE = "none"  # remove it


def need_of(task: LongTask, now: dt.datetime, grace_seconds: float) -> Need:
    status = task.get("status") or {}
    phase = resource.phase_of(status)
    if phase is None:
        return Need.KEEP  # the reconciler creates the user with the first Job
    if not phase.is_final:
        return Need.USER
    if phase is Phase.CANCELLED:
        ended = clock.parse_time(status.get("completionTime"))
        if ended is None or (now - ended).total_seconds() < grace_seconds:
            return Need.KEEP
    return Need.NONE


@dataclasses.dataclass(frozen=True)
class Plan:
    """One sweep's changes: users to create (namespace, uid), to remove, to confirm first."""

    create: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    remove: list[str] = dataclasses.field(default_factory=list)
    confirm: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    """Namespace → users whose task the store does not know: removed if the list lacks it."""


def plan(
    existing: Iterable[str],
    tasks: Iterable[LongTask],
    deleted: set[str],
    settings: Settings,
    now: dt.datetime,
) -> Plan:
    """What brings Redis's task users to what `tasks` need (pure). `deleted`: UIDs of tasks
    seen deleted."""
    out = Plan()
    tasks = list(tasks)
    needs: dict[str, Need] = {}
    for task in tasks:
        meta = task["metadata"]
        if settings.serves(meta["namespace"]):
            needs[meta["uid"]] = need_of(task, now, settings.termination_grace_seconds)
    present: set[str] = set()
    for name in existing:
        parsed = redisusers.parse_task_username(name)
        if parsed is None or not settings.serves(parsed[0]):
            continue
        namespace, uid = parsed
        present.add(uid)
        need = needs.get(uid)
        if need is Need.NONE or (need is None and uid in deleted):
            out.remove.append(name)
        elif need is None:
            out.confirm.setdefault(namespace, []).append(name)
    for task in tasks:
        meta = task["metadata"]
        if needs.get(meta["uid"]) is Need.USER and meta["uid"] not in present:
            out.create.append((meta["namespace"], meta["uid"]))
    return out


class TaskUsers:
    """The operator's ACL calls for task users, on a Redis connection of their own."""

    def __init__(
        self,
        settings: Settings,
        list_uids: Callable[[str], Awaitable[set[str]]],
        on_error: Callable[[], None] = lambda: None,
        may_write: Callable[[], bool] = lambda: True,
    ) -> None:
        """`list_uids(namespace)`: the UIDs of the namespace's LongTasks, from the API;
        `may_write`: the leadership guard (a standby creates and removes no user)."""
        if not settings.redis_task_key:
            raise ValueError(
                "per-task Redis users need LONGTASK_REDIS_TASK_KEY (a random secret); "
                "or set LONGTASK_REDIS_TASK_USERS=false for a Redis without ACLs"
            )
        self._settings = settings
        self._list_uids = list_uids
        self._on_error = on_error
        self._may_write = may_write
        self._client: aioredis.Redis = redisurls.client(
            settings.redis_url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        )
        self._last_error = ""

    async def _set_user(self, namespace: str, uid: str) -> None:
        secret = credentials.password(self._settings.redis_task_key, uid)
        rules = ["reset", "on", redisusers.password_hash(secret), *redisusers.task_rules(uid)]
        name = redisusers.task_username(namespace, uid)
        await self._client.execute_command("ACL", "SETUSER", name, *rules)  # type: ignore[no-untyped-call]

    async def create(self, namespace: str, uid: str) -> bool:
        """Create (or reset) the user of task `uid`; False when Redis refused or is away, or
        this replica may not write."""
        if not self._may_write():
            return False
        try:
            await self._set_user(namespace, uid)
        except (RedisError, OSError) as exc:
            self._failed("creating a user", exc)
            return False
        return True

    async def sync(self, tasks: Iterable[LongTask], deleted: set[str], now: dt.datetime) -> None:
        """One sweep: create the missing users, remove the unneeded. UIDs whose users are gone
        leave `deleted`."""
        if not self._may_write():
            return
        try:
            existing = [str(name) for name in await self._client.acl_users()]
        except (RedisError, OSError) as exc:
            self._failed("listing users", exc)
            return
        todo = plan(existing, tasks, deleted, self._settings, now)
        remove = list(todo.remove)
        for namespace, names in todo.confirm.items():
            alive = await self._list_uids(namespace)
            remove += [name for name in names if _uid(name) not in alive]
        if not self._may_write():
            return
        try:
            for namespace, uid in todo.create:
                await self._set_user(namespace, uid)
            if remove:
                await self._client.acl_deluser(*remove)
        except (RedisError, OSError) as exc:
            self._failed("syncing users", exc)
            return
        deleted &= {_uid(name) for name in existing} - {_uid(name) for name in remove}
        if todo.create or remove:
            logger.info(
                "redis task users: %d created, %d removed",
                len(todo.create),
                len(remove),
                extra={"users_created": len(todo.create), "users_removed": len(remove)},
            )
        self._last_error = ""

    def _failed(self, doing: str, exc: BaseException) -> None:
        self._on_error()
        text = f"{type(exc).__name__}: {exc}"
        if text != self._last_error:  # once per kind of failure, not once per sweep
            logger.warning("redis task users: %s failed: %s", doing, text)
            self._last_error = text

    async def close(self) -> None:
        await self._client.aclose()


def _uid(name: str) -> str:
    parsed = redisusers.parse_task_username(name)
    return parsed[1] if parsed else ""
