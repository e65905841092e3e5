"""Calls to the Kubernetes API (kubernetes_asyncio): Jobs, pods, LongTask status, Events, and the
runner's account and RoleBinding in each namespace (provisioning).

The calls made per task (Jobs, Secrets, status patches, Events, pods, queues) send and read raw
JSON (`Kube.call`, from `longtask.kubeclient.rawjson`, shared with the gateway), decoded by
orjson: kubernetes_asyncio's typed models cost more CPU to build from an answer and turn back
into dicts than the rest of a reconcile. Its client still brings the configuration, the
authentication and the guard below.

Every call is idempotent in effect: creating an existing Job returns None instead of failing,
deleting a missing object is a no-op, a patch of a vanished LongTask returns None.

Every write of the operator goes through one `GuardedApiClient`, which refuses it (NotLeader)
while this replica does not hold the Lease (leadership.py): the guard sits below every write
path, so a path added later cannot forget it.
"""

from __future__ import annotations

import asyncio
import collections
import fnmatch
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

import aiohttp
import orjson
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.core import resource, taskqueue
from longtask.kubeclient import rawjson

from . import clock, leadership, provisioning, settings

logger = logging.getLogger(__name__)

COMPONENT = "longtask-operator"
# Longest a single API call may take before the reconcile is retried.
REQUEST_TIMEOUT_SECONDS = 30
# How long one watch of the runner's accounts lasts before it is opened again where it ended.
WATCH_SECONDS = 300


# HTTP methods that change something: the ones the guard watches.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class GuardedApiClient(client.ApiClient):
    """An API client that refuses writes unless `guard` says this replica may write; its
    user agent names the replica, so the API server's audit log tells writers apart.

    The guard is asked twice: as the request is made, after everything that decided on it, and
    again once the request has its connection, just before its bytes go out. A write that
    waited in between (for a connection or its handshake, or in a process frozen meanwhile)
    past the guard's close is refused instead of arriving late (leadership design choice 3)."""

    def __init__(
        self,
        guard: leadership.Leadership,
        identity: str,
        configuration: client.Configuration | None = None,
    ) -> None:
        super().__init__(configuration)
        self.guard = guard
        self.user_agent = f"{COMPONENT}/{identity}"
        rawjson.settle_environment(self)
        # kubernetes_asyncio makes the session itself; its request class is aiohttp's hook
        # between the connection and the first byte.
        self.rest_client.pool_manager._request_class = _guarded_request(guard)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if method.upper() in WRITE_METHODS:
            self.guard.check(f"{method} {url}")
        return super().request(method, url, *args, **kwargs)


def _guarded_request(guard: leadership.Leadership) -> type[aiohttp.ClientRequest]:
    class GuardedRequest(aiohttp.ClientRequest):
        async def send(self, conn: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
            if self.method in WRITE_METHODS:
                guard.check(f"{self.method} {self.url.path}")
            return await super().send(conn)

    return GuardedRequest


async def load_config() -> None:
    """Configure clients from the in-cluster account, else from KUBECONFIG / ~/.kube/config."""
    if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config()


def plain_client() -> client.ApiClient:
    """An API client the guard does not watch (the Lease's own calls), once configured."""
    api = client.ApiClient()
    rawjson.settle_environment(api)
    return api


def _jobs(namespace: str, *rest: str) -> str:
    return rawjson.group_path("batch", "v1", namespace, "jobs", *rest)


def _tasks(namespace: str, *rest: str) -> str:
    return rawjson.group_path(resource.GROUP, resource.VERSION, namespace, resource.PLURAL, *rest)


def _queues(namespace: str, *rest: str) -> str:
    return rawjson.group_path(
        taskqueue.GROUP, taskqueue.VERSION, namespace, taskqueue.PLURAL, *rest
    )


async def connect(guard: leadership.Leadership, identity: str) -> client.ApiClient:
    """The operator's API client, writing only while `guard` holds."""
    await load_config()
    return GuardedApiClient(guard, identity)


async def served(
    namespaces: Sequence[str],
    every: Callable[[], Awaitable[list[dict[str, Any]]]],
    one: Callable[[str], Awaitable[list[dict[str, Any]]]],
) -> list[dict[str, Any]]:
    """Objects listed in the served namespaces: `one` per namespace, or `every` (all namespaces)
    filtered by the patterns when they are globs. With an exclusion (`!`) the list is not
    filtered: extra objects are harmless, their owners are never in the operator's stores."""
    if settings.lists_across_all(namespaces):
        found = await every()
        if not namespaces or any("!" in ns for ns in namespaces):
            return found
        return [
            o
            for o in found
            if any(fnmatch.fnmatchcase(o["metadata"]["namespace"], ns) for ns in namespaces)
        ]
    out: list[dict[str, Any]] = []
    for namespace in namespaces:
        out.extend(await one(namespace))
    return out


class Kube(rawjson.Client):
    def __init__(self, api: client.ApiClient) -> None:
        super().__init__(api, request_timeout=REQUEST_TIMEOUT_SECONDS, loads=orjson.loads)
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.rbac = client.RbacAuthorizationV1Api(api)
        # API writes issued, by verb: the operator's cost per task, exported as a metric.
        self.writes: collections.Counter[str] = collections.Counter()

    def _plain(self, model: Any) -> dict[str, Any]:
        return self.api.sanitize_for_serialization(model)  # type: ignore[no-any-return]

    async def create_job(self, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
        """The created Job, or None when a Job of that name exists already."""
        self.writes["create_job"] += 1
        path = _jobs(manifest["metadata"]["namespace"])
        return await self.call("POST", path, manifest, {"fieldManager": COMPONENT}, absent=(409,))

    async def create_secret(self, manifest: Mapping[str, Any]) -> None:
        """Create the Secret; one that exists already is left as it is (its content is
        derived from the task, see `credentials`)."""
        self.writes["create_secret"] += 1
        path = rawjson.core_path(manifest["metadata"]["namespace"], "secrets")
        await self.call("POST", path, manifest, {"fieldManager": COMPONENT}, absent=(409,))

    async def list_task_uids(self, namespace: str) -> set[str]:
        """The UIDs of every LongTask of `namespace`."""
        uids: set[str] = set()
        paging: dict[str, Any] = {}
        while True:
            page = await self.custom.list_namespaced_custom_object(
                resource.GROUP,
                resource.VERSION,
                namespace,
                resource.PLURAL,
                limit=500,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
                **paging,
            )
            uids.update(item["metadata"]["uid"] for item in page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return uids
            paging = {"_continue": token}

    async def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self.call("GET", _jobs(namespace, name), absent=(404,))

    async def delete_job(self, namespace: str, name: str) -> None:
        """Delete a Job and, in the background, its pods (they get SIGTERM, then SIGKILL)."""
        self.writes["delete_job"] += 1
        body = {"propagationPolicy": "Background"}
        await self.call("DELETE", _jobs(namespace, name), body, absent=(404,))

    async def list_pods(self, namespace: str, job_name: str) -> list[dict[str, Any]]:
        selector = {"labelSelector": f"batch.kubernetes.io/job-name={job_name}"}
        found = await self.call("GET", rawjson.core_path(namespace, "pods"), query=selector) or {}
        return list(found.get("items") or [])

    async def list_jobs(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        """Every Job this operator made, in the served namespaces (all when empty; globs allowed
        as in kopf, e.g. `team-*`)."""
        selector = f"{resource.LABEL_MANAGED_BY}={resource.MANAGED_BY}"

        async def every() -> list[Any]:
            found = await self.batch.list_job_for_all_namespaces(
                label_selector=selector, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
            return [self._plain(j) for j in found.items]

        async def one(namespace: str) -> list[Any]:
            found = await self.batch.list_namespaced_job(
                namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
            return [self._plain(j) for j in found.items]

        return await served(namespaces, every, one)

    async def patch_status(
        self, namespace: str, name: str, patch: resource.Status
    ) -> dict[str, Any] | None:
        """Merge-patch the LongTask's status; the updated object, or None if it is gone."""
        self.writes["patch_status"] += 1
        path = _tasks(namespace, name, "status")
        body = {"status": dict(patch)}
        query = {"fieldManager": COMPONENT}
        return await self.call("PATCH", path, body, query, rawjson.MERGE_PATCH, absent=(404,))

    async def list_queues(self, namespaces: Sequence[str], tries: int = 30) -> list[dict[str, Any]]:
        """Every LongTaskQueue in the served namespaces. Answers 429 are tried again, once a
        second: an API server answers so while a just-established CRD's storage initialises,
        and the operator must not start without knowing the queues."""
        for attempt in range(1, tries + 1):
            try:
                return await self._list_queues(namespaces)
            except ApiException as exc:
                if exc.status != 429 or attempt == tries:
                    raise
                await asyncio.sleep(1.0)
        raise AssertionError("unreachable")

    async def _list_queues(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:

        async def every() -> list[Any]:
            found = await self.custom.list_cluster_custom_object(
                taskqueue.GROUP,
                taskqueue.VERSION,
                taskqueue.PLURAL,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
            return list(found.get("items") or [])

        async def one(namespace: str) -> list[Any]:
            found = await self.custom.list_namespaced_custom_object(
                taskqueue.GROUP,
                taskqueue.VERSION,
                namespace,
                taskqueue.PLURAL,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
            return list(found.get("items") or [])

        return await served(namespaces, every, one)

    async def read_queue(self, namespace: str, name: str) -> dict[str, Any] | None:
        path = _queues(namespace, name)
        return await self.call("GET", path, absent=(404,))

    async def patch_queue_status(
        self, namespace: str, name: str, patch: taskqueue.QueueStatus
    ) -> dict[str, Any] | None:
        """Merge-patch a LongTaskQueue's status; the updated object, or None if it is gone."""
        self.writes["patch_queue_status"] += 1
        path = _queues(namespace, name, "status")
        body = {"status": dict(patch)}
        query = {"fieldManager": COMPONENT}
        return await self.call("PATCH", path, body, query, rawjson.MERGE_PATCH, absent=(404,))

    async def delete_task(self, namespace: str, name: str, uid: str) -> None:
        """Delete the LongTask (only that incarnation: a precondition on its UID)."""
        self.writes["delete_task"] += 1
        path = _tasks(namespace, name)
        body = {"preconditions": {"uid": uid}, "propagationPolicy": "Background"}
        await self.call("DELETE", path, body, absent=(404, 409))

    async def read_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        path = rawjson.core_path(namespace, "serviceaccounts", name)
        return await self.call("GET", path, absent=(404,))

    async def read_namespace(self, name: str) -> dict[str, Any] | None:
        try:
            found = await self.core.read_namespace(name, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return self._plain(found)

    def _kind_api(self, kind: str) -> tuple[Any, str]:
        """The API and the method noun of a ServiceAccount or a RoleBinding."""
        if kind == provisioning.SERVICE_ACCOUNT:
            return self.core, "service_account"
        return self.rbac, "role_binding"

    async def list_named(
        self, kind: str, name: str, namespace: str | None
    ) -> tuple[list[dict[str, Any]], str]:
        """The ServiceAccounts or RoleBindings called `name` in `namespace` (None: in every
        namespace), and the list's resourceVersion to watch from."""
        call, args = self._named_call(kind, namespace)
        found = await call(
            *args, field_selector=f"metadata.name={name}", _request_timeout=REQUEST_TIMEOUT_SECONDS
        )
        return [self._plain(o) for o in found.items], str(found.metadata.resource_version)

    async def watch_named(
        self, kind: str, name: str, namespace: str | None, resource_version: str
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The changes to those objects after `resource_version`, as (type, object), until the
        API server ends the watch; BOOKMARKs too, which only carry a newer resourceVersion.
        Raises ApiException 410 when that version is too old to watch from."""
        call, args = self._named_call(kind, namespace)
        stream = watch.Watch().stream(
            call, *args, field_selector=f"metadata.name={name}",
            resource_version=resource_version, allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS, _request_timeout=WATCH_SECONDS + REQUEST_TIMEOUT_SECONDS,
        )  # fmt: skip
        async with stream:
            async for event in stream:
                yield str(event["type"]), event["raw_object"]

    def _named_call(self, kind: str, namespace: str | None) -> tuple[Any, tuple[str, ...]]:
        """The list call of a ServiceAccount's or RoleBinding's API, and its arguments."""
        api, noun = self._kind_api(kind)
        if namespace is None:
            return getattr(api, f"list_{noun}_for_all_namespaces"), ()
        return getattr(api, f"list_namespaced_{noun}"), (namespace,)

    async def provision(self, step: provisioning.Step) -> dict[str, Any] | None:
        """Carry out one provisioning step (a patch is a strategic merge patch); the object
        written, or None after a delete, a create that found the object there already, or a
        patch or delete that found it gone."""
        self.writes[f"{step.verb}_{step.kind.lower()}"] += 1
        api, noun = self._kind_api(step.kind)
        timeout = REQUEST_TIMEOUT_SECONDS
        body = cast(Any, dict(step.body or {}))
        try:
            if step.verb is provisioning.Verb.CREATE:
                call = getattr(api, f"create_namespaced_{noun}")
                written = await call(
                    step.namespace, body, field_manager=COMPONENT, _request_timeout=timeout
                )
            elif step.verb is provisioning.Verb.PATCH:
                call = getattr(api, f"patch_namespaced_{noun}")
                written = await call(
                    step.name, step.namespace, body, field_manager=COMPONENT,
                    _request_timeout=timeout,
                )  # fmt: skip
            else:
                call = getattr(api, f"delete_namespaced_{noun}")
                await call(step.name, step.namespace, _request_timeout=timeout)
                return None
        except ApiException as exc:
            if exc.status == 404 or (step.verb is provisioning.Verb.CREATE and exc.status == 409):
                return None
            raise
        return self._plain(written)

    async def post_event(
        self, task: Mapping[str, Any], kind: str, reason: str, message: str
    ) -> None:
        """A Kubernetes Event on the LongTask (or on another object of longtask.io, by its
        kind); a failure is logged, never raised."""
        meta = task["metadata"]
        now = clock.format_time(clock.now())
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": task.get("apiVersion") or resource.API_VERSION,
                "kind": task.get("kind") or resource.KIND,
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "type": kind,
            "reason": reason,
            "message": message[: resource.MESSAGE_MAX_CHARS],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": os.environ.get("HOSTNAME", COMPONENT)[:128],
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self.writes["create_event"] += 1
        try:
            await self.call("POST", rawjson.core_path(meta["namespace"], "events"), body)
        except (ApiException, OSError) as exc:
            logger.warning("posting event %s on %s failed: %s", reason, meta["name"], exc)
