"""Kopf handlers: thin adapters from watch events to the controller.

`register` puts the handlers into a registry it is given (a fresh `kopf.OperatorRegistry` per
operator run or test), never into kopf's global one.

Why only low-level `on.event` handlers (design choice): kopf's change-detecting handlers
(`on.create/update/resume`) keep a diff base and handler progress on the object and would write
them back after changes, and daemons/timers add a finalizer. The runner patches status often; none
of that may cost writes. With `on.event` kopf stores nothing on the objects: the controller's
level-triggered reconcile (controller.py) decides from the object and the Jobs, and its work
queue provides the retries that `kopf.TemporaryError` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Iterable
from typing import Any

import kopf
import orjson
from kopf._cogs.clients import api as kopf_api
from longtask.core import resource, schedule, taskqueue
from longtask.history import engines

from . import kube, leadership, publishing, taskusers
from .controller import Controller
from .metrics import Metrics
from .schedules.controller import ScheduleController
from .schedules.metrics import ScheduleMetrics
from .settings import Settings

logger = logging.getLogger(__name__)

JOB_LABELS = {resource.LABEL_MANAGED_BY: resource.MANAGED_BY}
RUN_LABELS = {schedule.LABEL_SCHEDULE: kopf.PRESENT}


class NoDiffBase(kopf.DiffBaseStorage):
    """No diff base: kopf builds one (a deep copy of the whole object) for every watch event,
    for change-detecting handlers, which this operator has none of (see above). In a burst
    that copy was the operator's largest single cost."""

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[kopf.FieldSpec] | None = None
    ) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        pass


class WatchJson:
    """`json` as kopf's watch streams see it: orjson decodes each event (a Job's in ~40 % of the
    standard library's time; in a burst, decoding was a sixth of the operator's CPU). What
    orjson refuses (a lone surrogate) goes to the standard library."""

    @staticmethod
    def loads(text: str | bytes) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text)


def fast_watch_json() -> bool:
    """Decode kopf's watch streams with orjson. kopf offers no hook for it, so the `json` its
    stream reader calls is replaced; a kopf whose reader no longer calls it there keeps its own
    (False)."""
    if getattr(kopf_api, "json", None) is not json:
        return kopf_api.json is WatchJson  # type: ignore[attr-defined,comparison-overlap]
    setattr(kopf_api, "json", WatchJson)  # noqa: B010 (mypy: a class for a module)
    return True


@dataclasses.dataclass
class Runtime:
    """What the handlers share; the controller exists once the operator has started."""

    settings: Settings
    metrics: Metrics
    schedule_metrics: ScheduleMetrics
    controller: Controller | None = None
    schedules: ScheduleController | None = None
    guard: leadership.Leadership | None = None
    elector: leadership.Elector | None = None
    election: asyncio.Task[None] | None = None

    async def lead(self) -> None:
        assert self.controller is not None and self.schedules is not None
        self.controller.lead()
        self.schedules.lead()

    async def resign(self) -> None:
        assert self.controller is not None and self.schedules is not None
        await self.controller.resign()
        await self.schedules.resign()

    def leadership_detail(self) -> dict[str, Any]:
        """Who writes, for /healthz."""
        elector = self.elector
        return {
            "election": elector is not None,
            "leader": self.guard is not None and self.guard.holds(),
            "identity": elector.identity if elector else None,
            "holder": elector.holder if elector else None,
        }


def register(registry: kopf.OperatorRegistry, settings: Settings) -> Runtime:
    metrics = Metrics()
    runtime = Runtime(
        settings=settings, metrics=metrics, schedule_metrics=ScheduleMetrics(metrics.registry)
    )

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # kopf's own readers: no dependency on a synchronous Kubernetes client library.
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.startup(registry=registry)
    async def start(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.peering.standalone = True
        settings.posting.enabled = False  # the controller posts its own Events
        settings.persistence.diffbase_storage = NoDiffBase()
        if not fast_watch_json():
            logger.warning("kopf's watch streams are decoded with the standard json module")
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.watching.connect_timeout = 30
        lease = runtime.settings.lease
        guard = runtime.guard = leadership.Leadership(always=not lease.enabled)
        identity = lease.identity or leadership.new_identity()
        api = await kube.connect(guard, identity)
        publisher = publishing.Publisher(
            runtime.settings.redis_url,
            on_error=runtime.metrics.redis_errors.inc,
            may_write=guard.holds,
        )
        client = kube.Kube(api)
        users = None
        if runtime.settings.task_users:
            users = taskusers.TaskUsers(
                runtime.settings,
                client.list_task_uids,
                on_error=runtime.metrics.redis_errors.inc,
                may_write=guard.holds,
            )
        elif publisher.enabled:
            logger.warning(
                "per-task Redis users are off (LONGTASK_REDIS_TASK_USERS=false): every task's "
                "pod gets the same Redis credentials and can read and write every task's keys"
            )
        controller = Controller(
            runtime.settings, client, publisher, runtime.metrics, guard=guard, users=users
        )
        history = runtime.settings.history
        await controller.start()
        runtime.controller = controller
        schedules = ScheduleController(
            runtime.settings, client, runtime.schedule_metrics, leads=guard.holds
        )
        await schedules.start()
        runtime.schedules = schedules
        runtime.metrics.watch_leadership(guard)
        runtime.metrics.serve(runtime.settings.metrics_host, runtime.settings.metrics_port)
        if lease.enabled:
            # The Lease's own calls go through a client the guard does not watch.
            elector = leadership.Elector(
                dataclasses.replace(lease, identity=identity),
                kube.plain_client(),
                guard,
                on_lead=runtime.lead,
                on_resign=runtime.resign,
            )
            runtime.elector = elector
            runtime.election = asyncio.create_task(elector.run(), name="leader-election")
        else:
            await runtime.lead()
        logger.info(
            "longtask operator started",
            extra={
                "namespaces": list(runtime.settings.namespaces) or "all",
                "redis": publisher.enabled,
                "redis_task_users": users is not None,
                "workers": runtime.settings.workers,
                "history": engines.safe(history.dsn) if history.enabled else None,
                "leader_election": runtime.elector.namespace + "/" + lease.name
                if runtime.elector
                else None,
                "identity": identity,
            },
        )

    @kopf.on.cleanup(registry=registry)
    async def stop(**_: Any) -> None:
        # Renewals stop first; the guard still holds for the rest of the renew deadline, in
        # which the leader finishes what it owes, then hands the Lease over (leadership.py, 5.).
        if runtime.election is not None:
            runtime.election.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runtime.election
        if runtime.schedules is not None:
            await runtime.schedules.stop()
        if runtime.controller is not None:
            await runtime.controller.stop()
        if runtime.elector is not None:
            await runtime.elector.release()
            await runtime.elector.api.close()
        if runtime.controller is not None:
            await runtime.controller.kube.api.close()

    @kopf.on.probe(id="leadership", registry=registry)
    def leadership_probe(**_: Any) -> dict[str, Any]:
        return runtime.leadership_detail()

    @kopf.on.event(resource.GROUP, resource.VERSION, resource.PLURAL, registry=registry)
    async def longtask_event(event: kopf.RawEvent, **_: Any) -> None:
        if runtime.controller is not None:
            runtime.controller.task_event(event.get("type"), event["object"])

    @kopf.on.event("batch", "v1", "jobs", labels=JOB_LABELS, registry=registry)
    async def job_event(event: kopf.RawEvent, **_: Any) -> None:
        if runtime.controller is not None:
            runtime.controller.job_event(event.get("type"), event["object"])

    @kopf.on.event(schedule.GROUP, schedule.VERSION, schedule.PLURAL, registry=registry)
    async def schedule_event(event: kopf.RawEvent, **_: Any) -> None:
        if runtime.schedules is not None:
            runtime.schedules.schedule_event(event.get("type"), event["object"])

    @kopf.on.event(taskqueue.GROUP, taskqueue.VERSION, taskqueue.PLURAL, registry=registry)
    async def queue_event(event: kopf.RawEvent, **_: Any) -> None:
        if runtime.controller is not None:
            runtime.controller.queues.queue_event(event.get("type"), dict(event["object"]))

    # The runs of schedules: the same LongTask watch, filtered by kopf to labelled objects.
    @kopf.on.event(
        resource.GROUP, resource.VERSION, resource.PLURAL, labels=RUN_LABELS, registry=registry
    )
    async def run_event(event: kopf.RawEvent, **_: Any) -> None:
        if runtime.schedules is not None:
            runtime.schedules.run_event(event.get("type"), event["object"])

    # The runner's account where tasks may run (provisioner.py): namespaces, whatever their
    # labels (a removed label is a change too); the provisioner watches the accounts and
    # RoleBindings itself.
    @kopf.on.event("", "v1", "namespaces", registry=registry)
    async def namespace_event(event: kopf.RawEvent, **_: Any) -> None:
        if runtime.controller is not None:
            runtime.controller.provisioner.namespace_event(event.get("type"), event["object"])

    return runtime
