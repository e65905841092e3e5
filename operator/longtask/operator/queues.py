"""The operator's side of LongTaskQueues: views, admission locks, and what follows a change.

Design choices:
1. One admission lock per queue. A reconciler that asks whether a task may start holds its
   queue's lock from computing the view until the task's Job is in the store (controller.py), so
   several reconcilers deciding at once, or a Job not yet seen by the watch, never overshoot a
   limit: each decision sees every Job admitted before it.
2. Views are cached per queue and recomputed when something admission reads changed for the
   queue (a task's phase, attempts, priority, labels..., a Job's liveness, the queue itself; not
   a running task's progress or a pod becoming ready) or after `VIEW_MAX_AGE_SECONDS` (rate-limit
   windows move with time). A view reads only its queue's tasks and Jobs (the store indexes them
   by queue), so one admission costs a bounded number of recomputes, each of the queue alone.
3. One loop (`run`) follows changes at most every `settings.queue_sync_seconds`: it queues the
   tasks the view admits for their reconcile, and the waiting tasks whose recorded place is to
   be rewritten (queueing.position_changed), patches the queue's status when its figures
   changed, and writes one ordered snapshot to Redis when the order, a reason or an ETA
   changed. So one start costs one queue status patch and one Redis write per period, however
   many tasks wait; the gateway derives each follower's position from the snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any, cast

from longtask.core import keys, resource, taskqueue
from longtask.core.resource import ConditionType, LongTask, Phase
from longtask.core.taskqueue import QueueSpec

from . import clock, conditions, queueing
from .kube import Kube
from .metrics import QueueFigures
from .publishing import Command, Publisher
from .store import Key, Store, key_of, queue_of_job, queue_of_task

logger = logging.getLogger(__name__)

VIEW_MAX_AGE_SECONDS = 1.0


def snapshot(view: queueing.View, spec: QueueSpec, now: dt.datetime) -> taskqueue.Snapshot:
    out = taskqueue.Snapshot(
        ts=clock.to_ms(now),
        namespace=view.namespace,
        queue=view.name,
        running=view.running,
        suspended=bool(spec.get("suspend")),
        waiting=[
            [
                w.uid,
                view.verdicts[w.key].reason.value,
                _eta_ms(view.verdicts[w.key].eta),
            ]
            for w in view.order
            if not view.verdicts[w.key].admitted
        ],
    )
    if view.max_running is not None:
        out["maxRunning"] = view.max_running
    return out


def _eta_ms(eta: dt.datetime | None) -> int | None:
    # Whole seconds: an ETA that moves by milliseconds is no change worth a write.
    return None if eta is None else int(eta.timestamp()) * 1000


def queue_status(
    queue: dict[str, Any], view: queueing.View, now: dt.datetime
) -> taskqueue.QueueStatus | None:
    """The status patch that brings the queue's status to `view`; None when it says so."""
    recorded = cast(taskqueue.QueueStatus, queue.get("status") or {})
    spec = cast(QueueSpec, queue.get("spec") or {})
    generation = queue["metadata"].get("generation")
    oldest = clock.format_time(view.oldest) if view.oldest is not None else None
    suspended = bool(spec.get("suspend"))
    found = conditions.find(recorded.get("conditions") or [], taskqueue.ConditionType.SUSPENDED)
    want = conditions.TRUE if suspended else conditions.FALSE
    patch = taskqueue.QueueStatus()
    if recorded.get("running") != view.running:
        patch["running"] = view.running
    if recorded.get("queued") != view.queued:
        patch["queued"] = view.queued
    if _same_second(recorded.get("oldestQueuedTime"), oldest) is False:
        patch["oldestQueuedTime"] = oldest
    if found is None or found.get("status") != want:
        reason = taskqueue.Reason.SUSPENDED if suspended else taskqueue.Reason.ACTIVE
        message = (
            "no task of the queue starts; running ones finish"
            if suspended
            else "the queue admits tasks"
        )
        patch["conditions"] = conditions.set_condition(
            recorded.get("conditions") or [],
            taskqueue.ConditionType.SUSPENDED,
            suspended,
            reason,
            message,
            generation,
            clock.format_time(now),
        )
    if not patch:
        return None
    if generation is not None:
        patch["observedGeneration"] = int(generation)
    return patch


def _same_second(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    x, y = clock.parse_time(a), clock.parse_time(b)
    return x is not None and y is not None and abs((x - y).total_seconds()) < 1


def _task_fields(task: LongTask | dict[str, Any]) -> tuple[Key | None, tuple[Any, ...]]:
    """A task's queue, and what admission reads of it (queueing.gather, needs_reconcile)."""
    meta, spec = task["metadata"], task.get("spec") or {}
    status = task.get("status") or {}
    admitted = conditions.find(status.get("conditions") or [], ConditionType.ADMITTED)
    return queue_of_task(task), (
        meta.get("uid"),
        meta.get("creationTimestamp"),
        meta.get("deletionTimestamp"),
        meta.get("labels"),
        spec.get("params"),
        spec.get("priority"),
        spec.get("cancel"),
        status.get("phase"),
        status.get("attempt"),
        status.get("nextAttemptTime"),
        status.get("queuePosition"),
        admitted.get("reason") if admitted else None,
        [(a.get("jobName"), a.get("start")) for a in status.get("attempts") or []],
    )


def _job_fields(job: dict[str, Any]) -> tuple[Key | None, tuple[Any, ...]]:
    """A Job's queue, and what admission reads of it (queueing.gather): not its pods' counts."""
    meta, status = job["metadata"], job.get("status") or {}
    return queue_of_job(job), (
        meta.get("uid"),
        meta.get("creationTimestamp"),
        meta.get("labels"),
        status.get("startTime"),
        status.get("completionTime"),
        queueing.job_live(job),
    )


def needs_reconcile(task: LongTask, verdict: queueing.Verdict) -> bool:
    """Whether a waiting task's reconcile would change something now: it is admitted, it has not
    entered the queue yet, or its recorded reason or place is to be rewritten."""
    if verdict.admitted:
        return True
    status = task.get("status") or {}
    if resource.phase_of(status) is not Phase.QUEUED:
        return True
    found = conditions.find(status.get("conditions") or [], ConditionType.ADMITTED)
    if found is None or found.get("reason") != verdict.reason.value:
        return True
    return queueing.position_changed(status.get("queuePosition"), verdict.position)


class Queues:
    """Views of the served queues, their locks, and the loop that follows their changes."""

    def __init__(
        self,
        store: Store,
        kube: Kube,
        publisher: Publisher,
        enqueue: Callable[[Key], None],
        now: Callable[[], dt.datetime],
        period: float = 1.0,
    ) -> None:
        self.store = store
        self.kube = kube
        self.publisher = publisher
        self._enqueue = enqueue
        self._now = now
        self.period = period
        self._locks: dict[Key, asyncio.Lock] = {}
        self._views: dict[Key, tuple[float, queueing.View]] = {}
        self._dirty: set[Key] = set()
        self._published: dict[Key, tuple[Any, ...]] = {}
        self._recheck: dict[Key, float] = {}
        self._wake = asyncio.Event()
        # What admission last read of each task and Job: (its queue, its fields that matter).
        self._seen_tasks: dict[Key, tuple[Key | None, tuple[Any, ...]]] = {}
        self._seen_jobs: dict[Key, tuple[Key | None, tuple[Any, ...]]] = {}

    # Feeding -----------------------------------------------------------------------------------

    def touch(self, namespace: str, name: str | None) -> None:
        """Something of queue `namespace/name` changed (a task, a Job or the queue)."""
        if not name:
            return
        key = (namespace, name)
        self._views.pop(key, None)
        self._dirty.add(key)
        self._wake.set()

    def queue_event(self, kind: str | None, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        key = (str(meta["namespace"]), str(meta["name"]))
        if kind == "DELETED":
            self.store.drop_queue(key, meta.get("uid"))
            self._published.pop(key, None)
            # Its queued tasks start at once now, as tasks of a missing queue do.
            for task in self.store.queue_tasks(key):
                if queueing.waiting(task, self._now()) is not None:
                    self._enqueue((key[0], task["metadata"]["name"]))
        else:
            self.store.put_queue(obj)
        self.touch(*key)

    def task_event(self, obj: LongTask | dict[str, Any], gone: bool = False) -> None:
        """A task was seen (or `gone`): its queue's view is stale if admission reads a change."""
        self._changed(self._seen_tasks, key_of(obj), None if gone else _task_fields(obj))

    def job_event(self, obj: dict[str, Any], gone: bool = False) -> None:
        """A Job was seen (or `gone`): its queue's view is stale if admission reads a change."""
        self._changed(self._seen_jobs, key_of(obj), None if gone else _job_fields(obj))

    def _changed(
        self,
        seen: dict[Key, tuple[Key | None, tuple[Any, ...]]],
        key: Key,
        now: tuple[Key | None, tuple[Any, ...]] | None,
    ) -> None:
        before = seen.pop(key, None) if now is None else seen.get(key)
        if before == now:
            return
        if now is not None:
            if now[0] is None and before is None:
                return  # never of a queue: nothing to remember
            seen[key] = now
        for fields in (before, now):
            if fields is not None and fields[0] is not None:
                self.touch(*fields[0])

    # Admission ---------------------------------------------------------------------------------

    def lock(self, namespace: str, name: str) -> asyncio.Lock:
        return self._locks.setdefault((namespace, name), asyncio.Lock())

    async def spec(self, namespace: str, name: str) -> QueueSpec | None:
        """The queue's spec from the store, or read from the API server when the store has
        none (a queue created together with its tasks may not have been watched yet); None
        when no such queue exists."""
        held = self.store.queue((namespace, name))
        if held is None:
            found = await self.kube.read_queue(namespace, name)
            if found is None:
                return None
            self.store.put_queue(found)
            held = self.store.queue((namespace, name))
            if held is None:
                return None
        return cast(QueueSpec, held.get("spec") or {})

    def view(self, namespace: str, name: str) -> queueing.View | None:
        """The queue's current view (cached, see design choice 2); None without the queue."""
        key = (namespace, name)
        queue = self.store.queue(key)
        if queue is None:
            return None
        loop_time = asyncio.get_running_loop().time()
        cached = self._views.get(key)
        if cached is not None and loop_time - cached[0] < VIEW_MAX_AGE_SECONDS:
            return cached[1]
        now = self._now()
        spec = cast(QueueSpec, queue.get("spec") or {})
        waiters, attempts = queueing.gather(
            name, namespace, spec, self.store.queue_tasks(key), self.store.queue_jobs(key), now
        )
        computed = queueing.view(name, namespace, spec, waiters, attempts, now)
        self._views[key] = (loop_time, computed)
        return computed

    def figures(self) -> Iterable[QueueFigures]:
        """Gauges of every queue (metrics), from the latest views."""
        now = self._now()
        for queue in self.store.queues():
            meta = queue["metadata"]
            cached = self._views.get((meta["namespace"], meta["name"]))
            if cached is None:
                continue
            view = cached[1]
            oldest = (now - view.oldest).total_seconds() if view.oldest is not None else 0.0
            yield QueueFigures(
                namespace=view.namespace,
                queue=view.name,
                queued=view.queued,
                running=view.running,
                oldest_wait=max(0.0, oldest),
                rate_limit_delay=view.recheck_after or 0.0,
            )

    # Following changes -------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.period)
            self._wake.clear()
            try:
                await self.sync_once()
            except Exception:  # the loop must outlive any one bad round
                logger.exception("queue sync failed")
            await asyncio.sleep(self.period)  # at most one round per period (design choice 3)

    async def sync_once(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        due = {k for k, at in self._recheck.items() if at <= loop_time}
        for key in due:
            self._recheck.pop(key, None)
            self._views.pop(key, None)
        work, self._dirty = self._dirty | due, set()
        for key in sorted(work):
            await self._sync(key)

    async def _sync(self, key: Key) -> None:
        namespace, name = key
        queue = self.store.queue(key)
        if queue is None:
            return
        view = self.view(namespace, name)
        if view is None:
            return
        now = self._now()
        for waiter in view.order:
            task = self.store.task(waiter.key)
            if task is not None and needs_reconcile(task, view.verdicts[waiter.key]):
                self._enqueue(waiter.key)
        if view.recheck_after is not None:
            loop_time = asyncio.get_running_loop().time()
            self._recheck[key] = loop_time + max(view.recheck_after, 0.2)
        patch = queue_status(queue, view, now)
        if patch is not None:
            updated = await self.kube.patch_queue_status(namespace, name, patch)
            if updated is not None:
                self.store.put_queue(updated)
        spec = cast(QueueSpec, queue.get("spec") or {})
        snap = snapshot(view, spec, now)
        waiting = tuple(tuple(w) for w in snap["waiting"])
        fingerprint = (snap["running"], snap.get("maxRunning"), snap["suspended"], waiting)
        if self._published.get(key) != fingerprint:
            self._published[key] = fingerprint
            self.publisher.submit(snapshot_commands(snap))


def snapshot_commands(snap: taskqueue.Snapshot) -> list[Command]:
    stream = keys.queue_snapshots(snap["namespace"], snap["queue"])
    return [
        # Trimmed exactly: a snapshot may hold thousands of waiting tasks.
        Command(
            "xadd",
            stream,
            taskqueue.encode_snapshot(snap),
            keys.QUEUE_SNAPSHOTS_MAXLEN,
            exact=True,
        ),
        Command("expire", stream, number=keys.QUEUE_SNAPSHOT_TTL_SECONDS),
    ]
