"""One Kubernetes watch per namespace per gateway process, shared by every client that needs it.

The namespace-wide stream and the Redis-outage fallback of task streams both follow LongTasks
through a watch. Opening one per client would make the API server's load grow with the number
of clients exactly when Redis is down; instead each namespace has one watch whose events are
fanned out to subscribers' bounded queues (the same `Subscription` as the stream hub), and a
late subscriber starts from the watch's cached objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Final

from longtask.api.kube import Kube
from longtask.api.streaming.hub import Subscription

log = logging.getLogger(__name__)

RESTART_SECONDS: Final = 1.0


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """A change in a namespace: kind LIST (obj {"items": [...]}), ADDED, MODIFIED or DELETED."""

    namespace: str
    kind: str
    obj: dict[str, Any]


@dataclass
class _Watch:
    task: asyncio.Task[None] | None = None
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    synced: bool = False
    subscribers: set[Subscription] = field(default_factory=set)


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


class WatchHub:
    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._watches: dict[str, _Watch] = {}

    @property
    def watches(self) -> int:
        return len(self._watches)

    def subscribe(self, namespace: str, sub: Subscription) -> None:
        """Deliver the namespace's changes to `sub`, starting with a LIST of what it holds."""
        watch = self._watches.get(namespace)
        if watch is None:
            watch = self._watches[namespace] = _Watch()
            watch.task = asyncio.create_task(self._run(namespace, watch))
        watch.subscribers.add(sub)
        if watch.synced:
            sub.offer(WatchEvent(namespace, "LIST", {"items": list(watch.objects.values())}))

    def cached(self, namespace: str) -> list[dict[str, Any]] | None:
        """The namespace's LongTasks as its running watch holds them; None when no watch of it
        runs or it has not listed yet (ask the API server then)."""
        watch = self._watches.get(namespace)
        if watch is None or not watch.synced:
            return None
        return list(watch.objects.values())

    def unsubscribe(self, namespace: str, sub: Subscription) -> None:
        watch = self._watches.get(namespace)
        if watch is None:
            return
        watch.subscribers.discard(sub)
        if not watch.subscribers:
            del self._watches[namespace]
            if watch.task is not None:
                watch.task.cancel()

    async def stop(self) -> None:
        tasks = [w.task for w in self._watches.values() if w.task is not None]
        self._watches.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, namespace: str, watch: _Watch) -> None:
        while True:
            try:
                await self._follow(namespace, watch)
            except Exception:  # an unexpected failure must not silence every subscriber
                log.exception("watch of LongTasks in %s failed; restarting", namespace)
                await asyncio.sleep(RESTART_SECONDS)

    async def _follow(self, namespace: str, watch: _Watch) -> None:
        async for kind, obj in self._kube.watch(namespace):
            if kind == "LIST":
                watch.objects = {_name(item): item for item in obj.get("items") or []}
                watch.synced = True
            elif kind == "DELETED":
                watch.objects.pop(_name(obj), None)
            else:
                watch.objects[_name(obj)] = obj
            event = WatchEvent(namespace, kind, obj)
            for sub in watch.subscribers:
                sub.offer(event)
