"""Keeps the runner's account in the namespaces where tasks may run (see `provisioning`).

Watch events of namespaces (kopf's), of the runner's ServiceAccounts and of its RoleBindings
feed small in-memory views and a work queue of namespaces; one worker plans each namespace from
those views and writes what differs. A task about to start calls `ensure` first, so the first
LongTask of a namespace created a moment ago does not wait for the namespace's watch event.
Writes for one namespace never run at once (a lock per namespace).

The accounts and bindings are listed, then watched from the list's resourceVersion, by the
provisioner itself rather than through kopf: a list replaces its view whole, so a deletion no
watch event told of still leaves the view. kopf watches namespaced objects of a new namespace
only once it has seen the namespace, and lists them then without a word about what is gone: an
account deleted in that moment stayed in the view, and was never put back. The watches run on a
standby too, so a new leader plans from current views.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from . import provisioning, settings
from .kube import Kube
from .settings import Settings
from .workqueue import ExponentialLimiter, WorkQueue

logger = logging.getLogger(__name__)

# Retry delays of a namespace whose provisioning raised: doubling from 1 s up to a minute.
ERROR_BACKOFF_SECONDS = 1.0
ERROR_BACKOFF_MAX_SECONDS = 60.0
# Delays before listing again after a watch failed: doubling from 1 s up to 30 s.
WATCH_BACKOFF_SECONDS = 1.0
WATCH_BACKOFF_MAX_SECONDS = 30.0
KINDS = (provisioning.SERVICE_ACCOUNT, provisioning.ROLE_BINDING)
_DONE = {
    provisioning.Verb.CREATE: "created",
    provisioning.Verb.PATCH: "repaired",
    provisioning.Verb.DELETE: "deleted",
}


def _slim(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What planning reads of a Namespace, ServiceAccount or RoleBinding."""
    meta = obj.get("metadata") or {}
    kept = {
        k: meta[k] for k in ("name", "namespace", "uid", "labels", "deletionTimestamp") if k in meta
    }
    slim: dict[str, Any] = {"metadata": kept}
    for key in ("roleRef", "subjects"):
        if key in obj:
            slim[key] = obj[key]
    return slim


class Provisioner:
    def __init__(self, settings: Settings, kube: Kube, busy: Callable[[str], bool]) -> None:
        """`busy(namespace)`: whether a task of the namespace has not ended yet."""
        self.settings = settings
        self.kube = kube
        self._busy = busy
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.bindings: dict[str, dict[str, Any]] = {}
        self.queue: WorkQueue[str] = WorkQueue(
            ExponentialLimiter(ERROR_BACKOFF_SECONDS, ERROR_BACKOFF_MAX_SECONDS)
        )
        self._locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )
        self._watches: list[asyncio.Task[None]] = []
        # The uid of the last deletion a watch reported, by (kind, namespace): the answer to a
        # create or patch can arrive after the watch reported that object deleted, and must not
        # put it back into the view.
        self._gone: dict[tuple[str, str], str] = {}

    # Feeding (from watch events) -------------------------------------------------------------

    def namespace_event(self, kind: str | None, obj: Mapping[str, Any]) -> None:
        name = str(obj["metadata"]["name"])
        if not self.settings.serves(name):
            return
        if kind == "DELETED":
            self.namespaces.pop(name, None)
            self.queue.discard(name)
            self.queue.forget(name)
            self._locks.pop(name, None)
            for object_kind in KINDS:
                self._gone.pop((object_kind, name), None)
            return
        old = self.namespaces.get(name)
        self.namespaces[name] = _slim(obj)
        if old is None or old != self.namespaces[name]:
            self.queue.add(name)

    def _view(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.accounts if kind == provisioning.SERVICE_ACCOUNT else self.bindings

    def object_event(self, kind: str, event: str, obj: Mapping[str, Any]) -> None:
        """A watch event of a ServiceAccount or RoleBinding (`kind`) of the runner's name."""
        view = self._view(kind)
        meta = obj["metadata"]
        namespace = str(meta["namespace"])
        if meta.get("name") != self.settings.runner_service_account or not self.settings.serves(
            namespace
        ):
            return
        if event == "DELETED":
            self._gone[(kind, namespace)] = str(meta.get("uid"))
            held = view.get(namespace)
            if held is not None and held["metadata"].get("uid") == meta.get("uid"):
                del view[namespace]
        else:
            view[namespace] = _slim(obj)
        self.queue.add(namespace)

    def listed(self, kind: str, scope: str | None, objects: list[dict[str, Any]]) -> None:
        """What a list of `kind` in `scope` (None: every namespace) found: it replaces the
        view there, and each namespace whose entry changed is planned again."""
        view = self._view(kind)
        found = {
            str(o["metadata"]["namespace"]): _slim(o)
            for o in objects
            if o["metadata"].get("name") == self.settings.runner_service_account
            and self.settings.serves(str(o["metadata"]["namespace"]))
        }
        held = {ns for ns in view if scope is None or ns == scope}
        for namespace in held | found.keys():
            now = found.get(namespace)
            if view.get(namespace) == now:
                continue
            if now is None:
                del view[namespace]
            else:
                view[namespace] = now
            self.queue.add(namespace)

    # Lifecycle -------------------------------------------------------------------------------

    def scopes(self) -> list[str | None]:
        """Where the accounts are listed and watched: each served namespace, or every
        namespace (None) when they are given as patterns or not at all."""
        served = self.settings.namespaces
        return [None] if settings.lists_across_all(served) else list(served)

    async def start(self) -> None:
        """List what exists, before the first plan (so nothing is created twice); then follow
        it with watches until `stop`."""
        name = self.settings.runner_service_account
        for kind in KINDS:
            for scope in self.scopes():
                objects, version = await self.kube.list_named(kind, name, scope)
                self.listed(kind, scope, objects)
                follow = self._follow(kind, scope, version)
                self._watches.append(asyncio.create_task(follow, name=f"watch-{kind}-{scope}"))

    async def _follow(self, kind: str, scope: str | None, version: str | None) -> None:
        """Watch from `version`, again from where each watch ended; after a failure (the
        version too old, the API server away) list again first: events may have been missed."""
        name = self.settings.runner_service_account
        backoff: ExponentialLimiter[None] = ExponentialLimiter(
            WATCH_BACKOFF_SECONDS, WATCH_BACKOFF_MAX_SECONDS
        )
        while True:
            try:
                if version is None:
                    objects, version = await self.kube.list_named(kind, name, scope)
                    self.listed(kind, scope, objects)
                async for event, obj in self.kube.watch_named(kind, name, scope, version):
                    version = str(obj["metadata"]["resourceVersion"])
                    if event != "BOOKMARK":
                        self.object_event(kind, event, obj)
                backoff.forget(None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                version = None
                if isinstance(exc, ApiException) and exc.status == 410:
                    backoff.forget(None)  # only too old to resume: list again at once
                    delay = 0.0
                else:
                    delay = backoff.when(None)
                logger.warning(
                    "watch of %ss (%s) ended (%s: %s); listing again in %.0fs",
                    kind, scope or "all namespaces", type(exc).__name__, exc, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)

    async def run(self) -> None:
        """The worker: one namespace at a time, retried with backoff when it fails."""
        while True:
            namespace = await self.queue.get()
            try:
                await self.reconcile(namespace)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.queue.add_rate_limited(namespace)
                logger.warning(
                    "provisioning of namespace %s failed (%s: %s); retrying in %.0fs",
                    namespace, type(exc).__name__, exc, delay, extra={"namespace": namespace},
                )  # fmt: skip
            else:
                self.queue.forget(namespace)
            finally:
                self.queue.done(namespace)

    async def stop(self) -> None:
        self.queue.shut_down()
        for task in self._watches:
            task.cancel()
        await asyncio.gather(*self._watches, return_exceptions=True)
        self._watches.clear()

    # Deciding and acting ---------------------------------------------------------------------

    async def labels(self, namespace: str) -> Mapping[str, str] | None:
        """The namespace's labels (None: it does not exist), from the view or the API."""
        found = self.namespaces.get(namespace)
        if found is None:
            read = await self.kube.read_namespace(namespace)
            if read is None:
                return None
            found = self.namespaces[namespace] = _slim(read)
        return dict(found["metadata"].get("labels") or {})

    def selected(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return self.settings.serves(namespace) and provisioning.selects(
            self.settings.namespace_selector, labels
        )

    async def reconcile(self, namespace: str) -> None:
        held = self.namespaces.get(namespace)
        if held is None or held["metadata"].get("deletionTimestamp"):
            return  # gone or going: the namespace controller deletes what is in it
        selected = self.selected(namespace, held["metadata"].get("labels") or {})
        async with self._locks[namespace]:
            plan = self._plan(namespace, selected, self._busy(namespace))
            if not await self._apply(plan):
                self.queue.add(namespace)  # something was there already: plan again
        if plan.retry_after is not None:
            self.queue.add_after(namespace, plan.retry_after)

    async def ensure(self, namespace: str) -> None:
        """The runner's account and binding in `namespace`, before a task starts there."""
        async with self._locks[namespace]:
            for _ in range(3):
                if await self._apply(self._plan(namespace, True, True)):
                    return
        raise RuntimeError(f"the runner's account in {namespace} kept changing under the operator")

    def _plan(self, namespace: str, selected: bool, busy: bool) -> provisioning.Plan:
        return provisioning.plan(
            namespace,
            selected,
            self.accounts.get(namespace),
            self.bindings.get(namespace),
            busy,
            self.settings,
        )

    async def _apply(self, plan: provisioning.Plan) -> bool:
        """Carry out the plan's steps; False when a create found the object there already
        (unknown to the views yet): it is read into them, and the plan is stale."""
        for step in plan.steps:
            view = self._view(step.kind)
            written = await self.kube.provision(step)
            if step.verb is provisioning.Verb.DELETE:
                view.pop(step.namespace, None)
            elif written is not None:
                gone = self._gone.get((step.kind, step.namespace))
                if gone is None or gone != written["metadata"].get("uid"):
                    view[step.namespace] = _slim(written)
            else:
                found, _ = await self.kube.list_named(step.kind, step.name, step.namespace)
                if found:
                    view[step.namespace] = _slim(found[0])
                else:
                    view.pop(step.namespace, None)
                return False
            logger.info(
                "%s %s %s/%s", _DONE[step.verb], step.kind, step.namespace, step.name,
                extra={"namespace": step.namespace},
            )  # fmt: skip
        return True
