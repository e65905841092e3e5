"""Kubernetes access of the gateway (kubernetes_asyncio): LongTask CRUD (and, by `plural`,
LongTaskSchedule reads and patches), watches and reviews.

One `Kube` per process holds one ApiClient. Methods return plain dicts and raise `ApiException`,
which `errors` maps to HTTP codes. Requests send and read raw JSON (`longtask.kubeclient.rawjson`,
shared with the operator): kubernetes_asyncio's typed models cost more CPU per submit (the review
bodies built, the answers turned into models and back into dicts) than the rest of the request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.core import resource
from longtask.kubeclient import rawjson

log = logging.getLogger(__name__)

REQUEST_TIMEOUT: Final = 15.0
# Server-side timeout of one watch request; the loop then watches on from the last version.
WATCH_TIMEOUT_SECONDS: Final = 240
WATCH_RETRY_SECONDS: Final = 1.0
Objects = list[dict[str, Any]]


def _custom(namespace: str, plural: str, *rest: str) -> str:
    return rawjson.group_path(resource.GROUP, resource.VERSION, namespace, plural, *rest)


@dataclass(frozen=True)
class UserInfo:
    """Who a TokenReview says the caller is."""

    username: str
    uid: str | None = None
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)


class Kube(rawjson.Client):
    def __init__(self, api: client.ApiClient) -> None:
        # The standard library's JSON decoder: orjson is not in the gateway's extra.
        super().__init__(api, request_timeout=REQUEST_TIMEOUT)
        self.custom = client.CustomObjectsApi(api)  # its watch stream only
        rawjson.settle_environment(api)

    @classmethod
    async def connect(cls, kubeconfig: str | None) -> Kube:
        """A client from the kubeconfig file, or the in-cluster configuration when None."""
        configuration = client.Configuration()
        if kubeconfig:
            await config.load_kube_config(
                config_file=kubeconfig, client_configuration=configuration
            )
        else:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return cls(client.ApiClient(configuration))

    async def close(self) -> None:
        await self.api.close()

    async def ping(self) -> None:
        """Raises unless the API server answers."""
        await self.call("GET", "/version", request_timeout=5)

    async def list_all(self, namespace: str, page: int = 500) -> Objects:
        """Every LongTask of the namespace, read page by page."""
        found: Objects = []
        token: str | None = None
        while True:
            listing = await self.list(namespace, limit=page, continue_=token)
            found += listing.get("items") or []
            token = (listing.get("metadata") or {}).get("continue") or None
            if token is None:
                return found

    async def events(self, namespace: str, field_selector: str) -> Objects:
        """Kubernetes Events (core/v1) of the namespace matching the field selector, as dicts."""
        path = rawjson.core_path(namespace, "events")
        listing = await self.call("GET", path, query={"fieldSelector": field_selector})
        return list(listing.get("items") or [])

    async def namespace_exists(self, namespace: str) -> bool | None:
        """Whether the namespace exists; None when the gateway may not read namespaces."""
        try:
            await self.call("GET", rawjson.core_path(namespace))
        except ApiException as exc:
            if exc.status == 404:
                return False
            if exc.status == 403:
                return None
            raise
        return True

    async def create(
        self, namespace: str, body: dict[str, Any], plural: str = resource.PLURAL
    ) -> dict[str, Any]:
        return await self.call("POST", _custom(namespace, plural), body)

    async def service_account_labels(self, namespace: str, name: str) -> dict[str, str] | None:
        """The labels of a service account (None: it does not exist)."""
        path = rawjson.core_path(namespace, "serviceaccounts", name)
        found = await self.call("GET", path, absent=(404,))
        if found is None:
            return None
        return dict((found.get("metadata") or {}).get("labels") or {})

    async def get(self, namespace: str, name: str, plural: str = resource.PLURAL) -> dict[str, Any]:
        return await self.call("GET", _custom(namespace, plural, name))

    async def list(
        self,
        namespace: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        plural: str = resource.PLURAL,
    ) -> dict[str, Any]:
        query: dict[str, str] = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        if limit:
            query["limit"] = str(limit)
        if continue_:
            query["continue"] = continue_
        return await self.call("GET", _custom(namespace, plural), query=query)

    async def patch(
        self, namespace: str, name: str, patch: dict[str, Any], plural: str = resource.PLURAL
    ) -> dict[str, Any]:
        """A JSON merge patch of the object (spec and metadata)."""
        path = _custom(namespace, plural, name)
        return await self.call("PATCH", path, patch, content_type=rawjson.MERGE_PATCH)

    async def delete(self, namespace: str, name: str) -> None:
        # Background propagation: the object goes at once, its Jobs after it.
        body = {"propagationPolicy": "Background"}
        await self.call("DELETE", _custom(namespace, resource.PLURAL, name), body)

    async def watch(
        self, namespace: str, name: str | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """("LIST", {"items": [...]}) first, then ("ADDED"|"MODIFIED"|"DELETED", object).

        Watches on from the last resourceVersion across server timeouts and connection
        errors; starts over with a new LIST when the version expired (410).
        """
        selector = f"metadata.name={name}" if name else None
        while True:
            try:
                listing = await self.list(namespace, field_selector=selector)
            except (ApiException, OSError, TimeoutError) as exc:
                log.info("listing LongTasks for a watch failed (%s); retrying", _why(exc))
                await asyncio.sleep(WATCH_RETRY_SECONDS)
                continue
            yield "LIST", {"items": listing.get("items") or []}
            version = (listing.get("metadata") or {}).get("resourceVersion")
            while True:
                try:
                    async for kind, obj in self._watch_once(namespace, selector, version):
                        version = (obj.get("metadata") or {}).get("resourceVersion", version)
                        yield kind, obj
                except ApiException as exc:
                    if exc.status == 410:
                        break  # expired: list again
                    log.info("LongTask watch failed (%s); retrying", _why(exc))
                    await asyncio.sleep(WATCH_RETRY_SECONDS)
                except (OSError, TimeoutError) as exc:
                    log.info("LongTask watch interrupted (%s); retrying", _why(exc))
                    await asyncio.sleep(WATCH_RETRY_SECONDS)

    async def _watch_once(
        self, namespace: str, selector: str | None, version: str | None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        kwargs: dict[str, Any] = {"timeout_seconds": WATCH_TIMEOUT_SECONDS}
        if selector:
            kwargs["field_selector"] = selector
        if version:
            kwargs["resource_version"] = version
        w = watch.Watch()
        async with w.stream(
            self.custom.list_namespaced_custom_object,
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, **kwargs,
        ) as stream:  # fmt: skip
            async for event in stream:
                obj = event.get("object")
                kind = str(event.get("type", ""))
                if kind == "ERROR":
                    code = obj.get("code", 500) if isinstance(obj, dict) else 500
                    raise ApiException(status=code, reason="watch error")
                if kind in ("ADDED", "MODIFIED", "DELETED") and isinstance(obj, dict):
                    yield kind, obj

    async def review_token(self, token: str) -> UserInfo | None:
        """The user a bearer token authenticates as (TokenReview), or None."""
        review = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        result = await self.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", review)
        status = result.get("status") or {}
        user = status.get("user")
        if not status.get("authenticated") or not user:
            return None
        return UserInfo(
            username=user.get("username") or "",
            uid=user.get("uid"),
            groups=tuple(user.get("groups") or ()),
            extra={k: list(v) for k, v in (user.get("extra") or {}).items()},
        )

    async def review_access(
        self,
        user: UserInfo,
        verb: str,
        namespace: str | None,
        subresource: str | None = None,
        plural: str = resource.PLURAL,
    ) -> bool:
        """Whether `user` may `verb` the resource `plural` of longtask.io in `namespace` (all
        namespaces when None)."""
        attributes = {
            "namespace": namespace or "",
            "verb": verb,
            "group": resource.GROUP,
            "resource": plural,
        }
        if subresource:
            attributes["subresource"] = subresource
        spec: dict[str, Any] = {
            "user": user.username,
            "groups": list(user.groups),
            "resourceAttributes": attributes,
        }
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = user.extra
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        }
        path = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        result = await self.call("POST", path, review)
        return bool((result.get("status") or {}).get("allowed"))


def _why(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status}"
    return type(exc).__name__
