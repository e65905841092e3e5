"""The reconcile loop: watch events feed the store and a work queue; workers observe, decide, act.

One worker handles a given task at a time (the work queue guarantees it); `settings.workers`
tasks are reconciled concurrently. A reconcile reads only the in-memory store, except for what the
decision asks for (reconcile.Need): the service account of a new task (one read), a Job missing
from the store (one read) and pods when the Job alone cannot tell (see attempts.needs_pods). It
writes only when the decision changes something, so the runner's frequent progress patches cost
no operator writes. Finished tasks go to the archiver (when the history is on), which queues
each task again once its record is committed, so a held TTL deletion goes ahead at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import random
import typing
from collections.abc import Callable, Mapping
from typing import Any, cast

from longtask.core import resource
from longtask.core.resource import ConditionType, LongTask, Phase

from . import archiving, conditions, jobs, leadership, publishing, queues, reconcile, taskusers
from .kube import Kube
from .metrics import Metrics
from .provisioner import Provisioner
from .settings import Settings
from .store import Key, Store, key_of
from .workqueue import ExponentialLimiter, WorkQueue

logger = logging.getLogger(__name__)

# Retry delays of a reconcile that raised: doubling from 1 s up to a minute.
ERROR_BACKOFF_SECONDS = 1.0
ERROR_BACKOFF_MAX_SECONDS = 60.0
# Rounds of observing what a decision needs (service account or Job, then pods) before it plans.
MAX_OBSERVATIONS = 4
# How long a stopping operator tries to write the history's pending records.
STOP_FLUSH_SECONDS = 5.0
# How long stopping the loops may take (a resigning leader must stand by again, not hang).
CANCEL_WAIT_SECONDS = 5.0


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the loops and wait (a bounded time) until they ended; empties `tasks`."""
    for task in tasks:
        task.cancel()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=CANCEL_WAIT_SECONDS)
        for task in pending:
            logger.warning("%s did not stop within %.0f s", task.get_name(), CANCEL_WAIT_SECONDS)
    tasks.clear()


class Controller:
    def __init__(
        self,
        settings: Settings,
        kube: Kube,
        publisher: publishing.Publisher,
        metrics: Metrics,
        now: Callable[[], dt.datetime] | None = None,
        rand: Callable[[], float] = random.random,
        archiver: archiving.Archiver | None = None,
        guard: leadership.Leadership | None = None,
        users: taskusers.TaskUsers | None = None,
    ) -> None:
        self.settings = settings
        if archiver is None and settings.history.enabled:
            archiver = archiving.Archiver(
                settings.history,
                publisher.log_tails,
                metrics,
                may_write=guard.holds if guard is not None else lambda: True,
                read_outputs=publisher.outputs,
            )
        self.archiver = archiver
        self.kube = kube
        self.publisher = publisher
        # Redis users of tasks (None: tasks share the runner URL, or there is no Redis).
        self.users = users
        # UIDs of tasks seen deleted whose Redis users may still exist.
        self._deleted_uids: set[str] = set()
        self.metrics = metrics
        self.store = Store()
        self.queue: WorkQueue[Key] = WorkQueue(
            ExponentialLimiter(ERROR_BACKOFF_SECONDS, ERROR_BACKOFF_MAX_SECONDS)
        )
        self.heartbeats: dict[str, int] = {}
        self.queues = queues.Queues(
            self.store,
            kube,
            publisher,
            self.queue.add,
            lambda: self._now(),
            settings.queue_sync_seconds,
        )
        metrics.watch_queues(lambda: self.queues.figures() if self._leads() else ())
        self.provisioner = Provisioner(settings, kube, self.busy)
        # UIDs whose phase changes this process wrote to Redis, or checked there (stream repair).
        self._published: set[str] = set()
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._rand = rand
        self._background: list[asyncio.Task[None]] = []
        # A standby exports no gauges of the tasks (nor of the history): summed over replicas,
        # they would count every task twice.
        self._leads: Callable[[], bool] = guard.holds if guard is not None else lambda: True
        metrics.watch_state(
            lambda: self.store.tasks() if self._leads() else (), lambda: self.kube.writes
        )
        if archiver is not None:
            archiver.on_committed = self.archive_committed
            metrics.watch_history(
                lambda: archiver.lag(self._now()) if self._leads() else 0.0,
                lambda: self.deletions_waiting() if self._leads() else 0,
            )

    # Feeding (from watch events) -------------------------------------------------------------

    def task_event(self, kind: str | None, obj: Mapping[str, Any]) -> None:
        key = key_of(obj)
        self.queues.task_event(dict(obj), gone=kind == "DELETED")
        if kind == "DELETED":
            uid = obj["metadata"].get("uid")
            self.store.drop_task(key, uid)
            self.queue.forget(key)
            self.queue.discard(key)
            if uid:
                self.heartbeats.pop(uid, None)
                if self.archiver is not None:
                    self._archive_deleted(cast(LongTask, obj))
                self._deleted_uids.add(uid)
            return
        if self.store.put_task(obj):
            self.queue.add(key)

    def job_event(self, kind: str | None, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        task_name = (meta.get("labels") or {}).get(resource.LABEL_NAME)
        self.queues.job_event(dict(obj), gone=kind == "DELETED")
        if kind == "DELETED":
            self.store.drop_job(key_of(obj), meta.get("uid"))
        else:
            self.store.put_job(obj)
        if task_name:
            self.queue.add((meta["namespace"], task_name))

    def busy(self, namespace: str) -> bool:
        """Whether a task of `namespace` has not ended (its pod may use the runner's account)."""
        return any(
            t["metadata"]["namespace"] == namespace
            and not (reconcile.phase_of(t) or Phase.PENDING).is_final
            for t in self.store.tasks()
        )

    # Lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the existing Jobs (so no attempt looks lost) and runner accounts (so none is
        created twice); the watches keep them warm from then on, on a standby too."""
        for job in await self.kube.list_jobs(self.settings.namespaces):
            self.store.put_job(job)
        # Queues before any worker: a task of an existing queue must never start as if it
        # had none.
        for found in await self.kube.list_queues(self.settings.namespaces):
            self.queues.queue_event("ADDED", found)
        await self.provisioner.start()

    def lead(self) -> None:
        """Start the leader's work: workers and loops, over every task and namespace again
        (another replica led meanwhile, and its delayed requeues are not here)."""
        self._published.clear()  # its streams may lack what the last leader had not sent
        for task in self.store.tasks():
            self.queue.add(key_of(task))
        for namespace in self.provisioner.namespaces:
            self.provisioner.queue.add(namespace)
        self._spawn(self.provisioner.run(), "provisioner")
        for index in range(self.settings.workers):
            self._spawn(self._worker(), f"reconciler-{index}")
        self._spawn(self._sweep_heartbeats(), "heartbeat-sweep")
        self._spawn(self._repair_streams(), "stream-repair")
        if self.users is not None:
            self._spawn(self._sync_users(self.users), "redis-task-users")
        self._spawn(self.publisher.run(), "redis-publisher")
        self._spawn(self.queues.run(), "queue-sync")
        if self.archiver is not None:
            self._spawn(self.archiver.run(), "history-archiver")

    async def resign(self) -> None:
        """Stop the leader's work (the guard refuses its writes already); the stores stay warm.
        Redis writes not sent are dropped: the next leader repairs the streams."""
        await self._cancel_background()
        self.publisher.drop()

    def _spawn(self, coro: Any, name: str) -> None:
        self._background.append(asyncio.create_task(coro, name=name))

    async def _cancel_background(self) -> None:
        await cancel_all(self._background)

    async def stop(self) -> None:
        """Stop for good; what the leader owes Redis and the history is written first (the
        guard drops it on a standby)."""
        await self._cancel_background()
        self.queue.shut_down()
        await self.provisioner.stop()
        await self.publisher.flush()
        await self.publisher.close()
        if self.archiver is not None:
            with contextlib.suppress(Exception):  # what is not written now is at the next start
                await asyncio.wait_for(self.archiver.flush(), STOP_FLUSH_SECONDS)
            await self.archiver.close()
        if self.users is not None:
            await self.users.close()

    # Reconciling -----------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.handle(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.metrics.reconcile_errors.labels(key[0]).inc()
                delay = self.queue.add_rate_limited(key)
                logger.warning(
                    "reconcile of %s/%s failed (%s: %s); retrying in %.0fs",
                    *key,
                    type(exc).__name__,
                    exc,
                    delay,
                    extra={"namespace": key[0], "task": key[1]},
                )
            else:
                self.queue.forget(key)
            finally:
                self.queue.done(key)

    async def handle(self, key: Key) -> None:
        """Observe what the decision needs, decide and act, for one task."""
        task = self.store.task(key)
        if task is None:
            return
        obs = reconcile.Observation(
            now=self._now(), heartbeat_ms=self.heartbeats.get(task["metadata"]["uid"])
        )
        # A queue's admission lock, once taken, is held until the plan is applied (queues.py).
        async with contextlib.AsyncExitStack() as held:
            for _ in range(MAX_OBSERVATIONS):
                decision = reconcile.decide(task, obs, self.settings, self._rand)
                if isinstance(decision, reconcile.Plan):
                    await self._apply(key, task, decision, obs.now)
                    return
                obs = await self._observe(task, decision, obs, held)
        raise RuntimeError(f"the decision kept asking for more observations ({decision})")

    async def _observe(
        self,
        task: LongTask,
        need: reconcile.Need,
        obs: reconcile.Observation,
        held: contextlib.AsyncExitStack,
    ) -> reconcile.Observation:
        """`obs` with what `need` asks for."""
        namespace = task["metadata"]["namespace"]
        match need:
            case reconcile.AskQueue(name=queue_name):
                spec = await self.queues.spec(namespace, queue_name)
                if spec is None:
                    return dataclasses.replace(obs, queue=reconcile.QueueLookup(None))
                await held.enter_async_context(self.queues.lock(namespace, queue_name))
                view = self.queues.view(namespace, queue_name)
                verdict = view.verdict(key_of(task)) if view is not None else None
                lookup = reconcile.QueueLookup(spec, verdict)
                return dataclasses.replace(obs, queue=lookup, now=self._now())
            case reconcile.CheckServiceAccount(name=account):
                found = await self.kube.read_service_account(namespace, account)
                labels = None if found is None else found["metadata"].get("labels") or {}
                looked_up = reconcile.AccountLookup(labels)
                return dataclasses.replace(obs, service_account=looked_up)
            case reconcile.ReadNamespace(name=name):
                labels = await self.provisioner.labels(name)
                return dataclasses.replace(obs, namespace_labels=labels or {})
            case reconcile.LookUpJob(name=name, confirm=confirm):
                return dataclasses.replace(obs, job=await self._look_up_job(task, name, confirm))
            case reconcile.ListPods(job_name=name):
                pods = await self.kube.list_pods(namespace, name)
                return dataclasses.replace(obs, pods=pods)
            case reconcile.CheckArchived(uid=uid):
                archived = self.archiver is None or self.archiver.archived(uid)
                return dataclasses.replace(obs, archived=archived)
            case _:
                typing.assert_never(need)

    def _own_job(self, task: LongTask, name: str) -> dict[str, Any] | None:
        """The stored Job of that name, if it belongs to this task (not to an older namesake)."""
        meta = task["metadata"]
        job = self.store.job((meta["namespace"], name))
        if job is None:
            return None
        labels = job["metadata"].get("labels") or {}
        return job if labels.get(resource.LABEL_UID) == meta["uid"] else None

    async def _look_up_job(self, task: LongTask, name: str, confirm: bool) -> reconcile.JobLookup:
        job = self._own_job(task, name)
        if job is not None or not confirm:
            return reconcile.JobLookup(job)
        fetched = await self.kube.read_job(task["metadata"]["namespace"], name)
        if fetched is None:
            return reconcile.JobLookup(missing=True)
        self.store.put_job(fetched)
        return reconcile.JobLookup(self._own_job(task, name))

    async def _apply(
        self, key: Key, task: LongTask, plan: reconcile.Plan, now: dt.datetime
    ) -> None:
        namespace, name = key
        uid = task["metadata"]["uid"]
        log_extra = {"namespace": namespace, "task": name, "uid": uid}
        latest = task
        if plan.delete_job:
            await self.kube.delete_job(namespace, plan.delete_job)
            self.store.drop_job((namespace, plan.delete_job))
            logger.info("deleted Job %s/%s", namespace, plan.delete_job, extra=log_extra)
        if plan.ensure_runner_account:
            await self.provisioner.ensure(namespace)
        if plan.create_job is not None:
            if self.users is not None:
                # The pod reads its Redis URL from this Secret; the user is best effort
                # (taskusers design choice 1).
                await self.kube.create_secret(jobs.build_redis_secret(task, self.settings))
                await self.users.create(namespace, uid)
            created = await self.kube.create_job(plan.create_job)
            if created is None:  # it exists: ours (a restart) or an old task's of the same name
                job_name = plan.create_job["metadata"]["name"]
                created = await self.kube.read_job(namespace, job_name)
                owner = ((created or {}).get("metadata", {}).get("labels") or {}).get(
                    resource.LABEL_UID
                )
                if created is None or owner != uid:
                    self.queue.add_after(key, 2.0)  # wait until it is gone
                    return
            self.store.put_job(created)
            # Before the admission lock is released: the next decision counts this Job.
            self.queues.job_event(created)
        if plan.status is not None:
            updated = await self.kube.patch_status(namespace, name, plan.status)
            if updated is None:
                self.store.drop_task(key, uid)
                return
            self.store.put_task(updated)
            self.queues.task_event(updated)
            latest = cast(LongTask, updated)
            self.metrics.record(task, plan.transitions, now, plan.admitted_by)
            for change in plan.transitions:
                logger.info(
                    "%s/%s: %s -> %s (%s) %s",
                    namespace,
                    name,
                    change.old.value if change.old else "New",
                    change.new.value,
                    change.reason.value,
                    change.message,
                    extra={**log_extra, "phase": change.new.value, "reason": change.reason.value},
                )
            self._published.add(uid)
            self.publisher.submit(
                publishing.task_commands(
                    uid, plan.transitions, plan.deadletter, self.settings.events_maxlen
                )
            )
            if plan.events:
                await asyncio.gather(
                    *(
                        self.kube.post_event(updated, e.type, e.reason.value, e.message)
                        for e in plan.events
                    )
                )
        if plan.archive and self.archiver is not None:
            self.archiver.submit(latest)
        if plan.delete_task:
            await self.kube.delete_task(namespace, name, uid)
            logger.info("deleted finished task %s/%s (ttl)", namespace, name, extra=log_extra)
            return
        if plan.requeue_after is not None:
            self.queue.add_after(key, plan.requeue_after)

    # History ---------------------------------------------------------------------------------

    def archive_committed(self, tasks: typing.Sequence[LongTask]) -> None:
        """The archiver committed these tasks' records: a held deletion may go ahead now."""
        assert self.archiver is not None
        for task in tasks:
            key = key_of(task)
            stored = self.store.task(key)
            if stored is not None and stored["metadata"]["uid"] == task["metadata"]["uid"]:
                self.queue.add(key)
            else:
                self.archiver.forget(task["metadata"]["uid"])

    def _archive_deleted(self, obj: LongTask) -> None:
        """A task left the cluster: a finished one not yet written is still archived (from
        its last state, as the watch delivered it); a written one is forgotten."""
        assert self.archiver is not None
        if not self._leads():  # the leader archives it; a standby would only hoard it
            return
        uid = obj["metadata"]["uid"]
        if self.archiver.archived(uid):
            self.archiver.forget(uid)
        elif archiving.is_final(obj):
            self.archiver.submit(obj)

    def deletions_waiting(self) -> int:
        """Finished tasks past their TTL whose record is not committed yet."""
        if self.archiver is None:
            return 0
        now = self._now()
        return sum(
            1
            for task in self.store.tasks()
            if archiving.is_final(task)
            and (reconcile.ttl_remaining(task, now) or 1.0) <= 0
            and not self.archiver.archived(task["metadata"]["uid"])
        )

    # Stream repair ---------------------------------------------------------------------------

    async def _repair_streams(self) -> None:
        while True:
            await asyncio.sleep(self.settings.stall_sweep_seconds)
            try:
                if await self.publisher.failed_over():  # the last writes may be gone: check all
                    self._published.clear()
                await self.repair_streams_once()
            except Exception:  # the repair must outlive any one bad round
                logger.exception("stream repair failed")

    async def repair_streams_once(self) -> None:
        """Write the phase changes Redis missed for tasks this process has not published yet.

        The status is patched before the Redis write is queued, so an operator killed between
        the two leaves a task whose stream lacks its last phase change, and a finished task
        whose SSE followers would never see `end`. Each task is checked once per process, and
        once more after a Redis failover (the new master may lack the last phase changes)."""
        tasks = {t["metadata"]["uid"]: t for t in self.store.tasks()}
        self._published &= tasks.keys()
        unchecked = [uid for uid in tasks if uid not in self._published]
        found = await self.publisher.phases(unchecked)
        if found is None:
            return  # Redis cannot say now; the next round tries again
        for uid, published in found.items():
            if uid in self._published:  # a reconciler published for it meanwhile
                continue
            self._published.add(uid)
            task = tasks[uid]
            commands = publishing.repair_commands(uid, task.get("status") or {}, published)
            if commands:
                meta = task["metadata"]
                logger.info(
                    "%s/%s: wrote the missed %s phase change to Redis",
                    meta["namespace"],
                    meta["name"],
                    (task.get("status") or {}).get("phase"),
                    extra={"namespace": meta["namespace"], "task": meta["name"], "uid": uid},
                )
                self.publisher.submit(commands)

    # Redis users of tasks ---------------------------------------------------------------------

    async def _sync_users(self, users: taskusers.TaskUsers) -> None:
        while True:
            await asyncio.sleep(self.settings.stall_sweep_seconds)
            try:
                await users.sync(self.store.tasks(), self._deleted_uids, self._now())
            except Exception:  # the sync must outlive any one bad round
                logger.exception("redis task users: sync failed")

    # Heartbeats ------------------------------------------------------------------------------

    async def _sweep_heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.settings.stall_sweep_seconds)
            try:
                await self.sweep_heartbeats_once()
            except Exception:  # the sweep must outlive any one bad round
                logger.exception("heartbeat sweep failed")

    async def sweep_heartbeats_once(self) -> None:
        """Read the heartbeats of running tasks; queue those whose Stalled condition is wrong."""
        running = [t for t in self.store.tasks() if reconcile.phase_of(t) is Phase.RUNNING]
        found = await self.publisher.heartbeats([t["metadata"]["uid"] for t in running])
        if found is None:
            self.heartbeats.clear()  # unknown: leave Stalled conditions as they are
            return
        self.heartbeats = found
        now = self._now()
        for task in running:
            stale = reconcile.is_stale(task, found.get(task["metadata"]["uid"], 0), now)
            stalled = conditions.is_true(
                (task.get("status") or {}).get("conditions") or [], ConditionType.STALLED
            )
            if stale != stalled:
                self.queue.add(key_of(task))
