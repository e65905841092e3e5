"""The schedule controller: watch events feed the store and a work queue; workers observe,
decide (`planning.decide`) and act.

The shell of the task controller, for schedules: a schedule is queued when it or one of its runs
changes, and again at its next slot (`add_after`). A worker observes what the decision asks
for — the schedule as the API server has it now before runs are created or cancelled, runs the
status names but the store lacks — and applies the plan in its order: pause (spec.suspend),
cancel, create, status (with the resourceVersion decided on), delete, then Events and metrics.
A status patch that finds the schedule changed (another operator recorded the round) stops the
round; the schedule is read again and decided anew.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from longtask.core.schedule import LongTaskSchedule, Reason

from .. import controller
from ..kube import Kube
from ..settings import Settings
from ..store import Key, key_of
from ..workqueue import ExponentialLimiter, WorkQueue
from . import planning, runs
from .calls import Calls, Conflict
from .metrics import ScheduleMetrics

logger = logging.getLogger(__name__)

ERROR_BACKOFF_SECONDS = 1.0
ERROR_BACKOFF_MAX_SECONDS = 60.0
# Rounds of observing what a decision needs (runs, then a fresh schedule) before it plans.
MAX_OBSERVATIONS = 4


class ScheduleController:
    def __init__(
        self,
        settings: Settings,
        kube: Kube,
        metrics: ScheduleMetrics,
        now: Callable[[], dt.datetime] | None = None,
        leads: Callable[[], bool] = lambda: True,
    ) -> None:
        self.settings = settings
        self.kube = kube
        self.calls = Calls(kube)
        self.metrics = metrics
        self.store = runs.Store()
        self.queue: WorkQueue[Key] = WorkQueue(
            ExponentialLimiter(ERROR_BACKOFF_SECONDS, ERROR_BACKOFF_MAX_SECONDS)
        )
        # Since when this process has watched each schedule valid and active (planning, 1.).
        self.watched_since: dict[Key, dt.datetime] = {}
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._background: list[asyncio.Task[None]] = []
        # A standby exports no schedule gauges (summed over replicas they would count twice).
        metrics.watch_schedules(lambda: self.store.schedules() if leads() else iter(()), self._now)

    # Feeding (from watch events) -------------------------------------------------------------

    def schedule_event(self, kind: str | None, obj: Mapping[str, Any]) -> None:
        key = key_of(obj)
        if kind == "DELETED":
            self.store.drop_schedule(key, obj["metadata"].get("uid"))
            self.watched_since.pop(key, None)
            self.queue.forget(key)
            self.queue.discard(key)
            return
        if self.store.put_schedule(obj):
            self.queue.add(key)

    def run_event(self, kind: str | None, obj: Mapping[str, Any]) -> None:
        run = runs.run_of(obj)
        if run is None:
            return
        namespace = str(obj["metadata"]["namespace"])
        if kind == "DELETED":
            self.store.drop_run(namespace, run)
        else:
            self.store.put_run(namespace, run)
        self.queue.add((namespace, run.schedule))

    # Lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the existing runs (so no active run is overlooked); the watches keep them warm
        from then on, on a standby too."""
        for obj in await self.calls.list_runs(self.settings.namespaces):
            run = runs.run_of(obj)
            if run is not None:
                self.store.put_run(str(obj["metadata"]["namespace"]), run)

    def lead(self) -> None:
        """Start the workers, over every schedule again (another replica led meanwhile)."""
        for sched in self.store.schedules():
            self.queue.add(key_of(sched))
        for index in range(self.settings.workers):
            self._background.append(
                asyncio.create_task(self._worker(), name=f"schedule-reconciler-{index}")
            )

    async def resign(self) -> None:
        """Stop the workers; the stores stay warm."""
        await controller.cancel_all(self._background)

    async def stop(self) -> None:
        await self.resign()
        self.queue.shut_down()

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.handle(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.queue.add_rate_limited(key)
                logger.warning(
                    "reconcile of schedule %s/%s failed (%s: %s); retrying in %.0fs",
                    *key,
                    type(exc).__name__,
                    exc,
                    delay,
                    extra={"namespace": key[0], "schedule": key[1]},
                )
            else:
                self.queue.forget(key)
            finally:
                self.queue.done(key)

    # Reconciling -----------------------------------------------------------------------------

    def _observation(self, key: Key, sched: LongTaskSchedule) -> planning.Observation:
        return planning.Observation(
            now=self._now(),
            runs=self.store.runs(key, sched["metadata"].get("uid", "")),
            watched_since=self.watched_since.get(key),
        )

    async def handle(self, key: Key) -> None:
        """Observe what the decision needs, decide and act, for one schedule."""
        sched = self.store.schedule(key)
        if sched is None:
            return
        obs = self._observation(key, sched)
        for _ in range(MAX_OBSERVATIONS):
            decision = planning.decide(sched, obs, self.settings.schedule_seconds)
            if isinstance(decision, planning.Plan):
                await self._apply(key, sched, decision, obs.now)
                return
            if isinstance(decision, planning.ReadSchedule):
                fresh = await self.calls.read_schedule(*key)
                if fresh is None:
                    self.store.drop_schedule(key)
                    return
                self.store.put_schedule(fresh)
                sched = self.store.schedule(key) or sched
                looked_up = obs.looked_up
                obs = dataclasses.replace(self._observation(key, sched), fresh=True)
                obs = dataclasses.replace(obs, looked_up=looked_up)
            else:
                obs = dataclasses.replace(obs, looked_up=await self._look_up(key, decision))
        raise RuntimeError(f"the decision kept asking for more observations ({decision})")

    async def _look_up(self, key: Key, need: planning.LookUpRuns) -> dict[str, runs.Run | None]:
        namespace = key[0]
        found: dict[str, runs.Run | None] = {}
        for name in need.names:
            obj = await self.calls.read_run(namespace, name)
            run = runs.run_of(obj) if obj is not None else None
            if run is not None:
                self.store.put_run(namespace, run)
            found[name] = run
        return found

    async def _apply(
        self, key: Key, sched: LongTaskSchedule, plan: planning.Plan, now: dt.datetime
    ) -> None:
        namespace, name = key
        log_extra = {"namespace": namespace, "schedule": name}
        if plan.watching:
            self.watched_since.setdefault(key, now)
        else:
            self.watched_since.pop(key, None)
        version = plan.resource_version
        conflicts: list[str] = []
        try:
            if plan.pause:
                updated = await self.calls.patch_schedule(
                    namespace, name, version, spec={"suspend": True}
                )
                if updated is None:
                    return
                self.store.put_schedule(updated)
                version = str(updated["metadata"]["resourceVersion"])
                logger.warning("paused schedule %s/%s after failed runs", *key, extra=log_extra)
            for run_name in plan.cancel:
                await self.calls.cancel_run(namespace, run_name)
                logger.info("cancelled run %s/%s (Replace)", namespace, run_name, extra=log_extra)
            for manifest in plan.create:
                conflict = await self._create(namespace, sched, manifest)
                if conflict:
                    conflicts.append(conflict)
            if plan.status is not None:
                updated = await self.calls.patch_schedule(
                    namespace, name, version, status=plan.status
                )
                if updated is None:
                    self.store.drop_schedule(key)
                    return
                self.store.put_schedule(updated)
        except Conflict:
            # Another writer recorded this round (a second operator) or the spec changed:
            # read it again and decide anew; the runs created so far keep their names.
            fresh = await self.calls.read_schedule(namespace, name)
            if fresh is not None:
                self.store.put_schedule(fresh)
            self.queue.add(key)
            return
        for run_name, uid in plan.delete:
            await self.kube.delete_task(namespace, run_name, uid)
            logger.info("deleted run %s/%s (history limit)", namespace, run_name, extra=log_extra)
        for missed in plan.missed:
            self.metrics.slots_missed.labels(namespace, name, missed.reason.value).inc()
            logger.info(
                "%s/%s: slot %s skipped (%s): %s",
                namespace,
                name,
                planning.time_text(missed.slot),
                missed.reason.value,
                missed.why,
                extra={**log_extra, "reason": missed.reason.value},
            )
        events = [(e.type, e.reason.value, e.message) for e in plan.events]
        events += [(planning.WARNING, Reason.NAME_CONFLICT.value, c) for c in conflicts]
        if events:
            target = self.store.schedule(key) or sched
            await asyncio.gather(*(self.kube.post_event(target, *e) for e in events))
        if plan.requeue_after is not None:
            self.queue.add_after(key, plan.requeue_after)

    async def _create(
        self, namespace: str, sched: LongTaskSchedule, manifest: Mapping[str, Any]
    ) -> str | None:
        """Create one run; a message when its name is taken by a LongTask not of this schedule."""
        run_name = manifest["metadata"]["name"]
        created = await self.calls.create_run(manifest)
        if created is None:  # it exists: this round's run after all, or a stranger
            found = await self.calls.read_run(namespace, run_name)
            run = runs.run_of(found) if found is not None else None
            if run is None or run.owner_uid != sched["metadata"].get("uid"):
                return f"LongTask {run_name} exists and is not a run of this schedule"
            self.store.put_run(namespace, run)
            return None
        run = runs.run_of(created)
        if run is not None:
            self.store.put_run(namespace, run)
        self.metrics.runs_started.labels(
            namespace, sched["metadata"]["name"], run.trigger if run else ""
        ).inc()
        logger.info(
            "started run %s/%s",
            namespace,
            run_name,
            extra={"namespace": namespace, "schedule": sched["metadata"]["name"], "task": run_name},
        )
        return None
