"""Keeps the runner's account in the namespaces where tasks may run (see `provisioning`).

Watch events of namespaces, of the runner's ServiceAccounts and of its RoleBindings feed small
in-memory views and a work queue of namespaces; one worker plans each namespace from those
views and writes what differs. A task about to start calls `ensure` first, so the first
LongTask of a namespace created a moment ago does not wait for the namespace's watch event.
Writes for one namespace never run at once (a lock per namespace).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Mapping
from typing import Any

from . import provisioning
from .kube import Kube
from .settings import Settings
from .workqueue import ExponentialLimiter, WorkQueue

logger = logging.getLogger(__name__)

# Retry delays of a namespace whose provisioning raised: doubling from 1 s up to a minute.
ERROR_BACKOFF_SECONDS = 1.0
ERROR_BACKOFF_MAX_SECONDS = 60.0
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
            return
        old = self.namespaces.get(name)
        self.namespaces[name] = _slim(obj)
        if old is None or old != self.namespaces[name]:
            self.queue.add(name)

    def account_event(self, kind: str | None, obj: Mapping[str, Any]) -> None:
        self._object_event(self.accounts, kind, obj)

    def binding_event(self, kind: str | None, obj: Mapping[str, Any]) -> None:
        self._object_event(self.bindings, kind, obj)

    def _object_event(
        self, view: dict[str, dict[str, Any]], kind: str | None, obj: Mapping[str, Any]
    ) -> None:
        meta = obj["metadata"]
        namespace = str(meta["namespace"])
        if meta.get("name") != self.settings.runner_service_account or not self.settings.serves(
            namespace
        ):
            return
        if kind == "DELETED":
            held = view.get(namespace)
            if held is not None and held["metadata"].get("uid") == meta.get("uid"):
                del view[namespace]
        else:
            view[namespace] = _slim(obj)
        self.queue.add(namespace)

    # Lifecycle -------------------------------------------------------------------------------

    async def load(self) -> None:
        """What exists already, before the first plan (so nothing is created twice)."""
        name, served = self.settings.runner_service_account, self.settings.namespaces
        for kind, view in (
            (provisioning.SERVICE_ACCOUNT, self.accounts),
            (provisioning.ROLE_BINDING, self.bindings),
        ):
            for obj in await self.kube.list_named(kind, name, served):
                if self.settings.serves(obj["metadata"]["namespace"]):
                    view[obj["metadata"]["namespace"]] = _slim(obj)

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

    def stop(self) -> None:
        self.queue.shut_down()

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
            view = self.accounts if step.kind == provisioning.SERVICE_ACCOUNT else self.bindings
            written = await self.kube.provision(step)
            if step.verb is provisioning.Verb.DELETE:
                view.pop(step.namespace, None)
            elif written is not None:
                view[step.namespace] = _slim(written)
            else:
                found = await self.kube.list_named(step.kind, step.name, [step.namespace])
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
