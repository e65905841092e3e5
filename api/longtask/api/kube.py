"""Kubernetes access of the gateway (kubernetes_asyncio): LongTask CRUD (and, by `plural`,
LongTaskSchedule reads and patches), watches and reviews.

One `Kube` per process holds one ApiClient. Methods return plain dicts (custom objects) and
raise `ApiException`, which `errors` maps to HTTP codes.
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

log = logging.getLogger(__name__)

REQUEST_TIMEOUT: Final = 15.0
# Server-side timeout of one watch request; the loop then watches on from the last version.
WATCH_TIMEOUT_SECONDS: Final = 240
WATCH_RETRY_SECONDS: Final = 1.0
MERGE_PATCH: Final = "application/merge-patch+json"
Objects = list[dict[str, Any]]


@dataclass(frozen=True)
class UserInfo:
    """Who a TokenReview says the caller is."""

    username: str
    uid: str | None = None
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)


class Kube:
    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.authn = client.AuthenticationV1Api(api)
        self.authz = client.AuthorizationV1Api(api)

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
        await client.VersionApi(self.api).get_code(_request_timeout=5)

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
        listing = await self.core.list_namespaced_event(
            namespace, field_selector=field_selector, _request_timeout=REQUEST_TIMEOUT
        )
        items: Objects = self.api.sanitize_for_serialization(listing.items or [])
        return items

    async def namespace_exists(self, namespace: str) -> bool | None:
        """Whether the namespace exists; None when the gateway may not read namespaces."""
        try:
            await self.core.read_namespace(namespace, _request_timeout=REQUEST_TIMEOUT)
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
        result: dict[str, Any] = await self.custom.create_namespaced_custom_object(
            resource.GROUP, resource.VERSION, namespace, plural, body,
            _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip
        return result

    async def service_account_labels(self, namespace: str, name: str) -> dict[str, str] | None:
        """The labels of a service account (None: it does not exist)."""
        try:
            found = await self.core.read_namespaced_service_account(
                name, namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(found.metadata.labels or {})

    async def get(self, namespace: str, name: str, plural: str = resource.PLURAL) -> dict[str, Any]:
        result: dict[str, Any] = await self.custom.get_namespaced_custom_object(
            resource.GROUP, resource.VERSION, namespace, plural, name,
            _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip
        return result

    async def list(
        self,
        namespace: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        plural: str = resource.PLURAL,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"_request_timeout": REQUEST_TIMEOUT}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        if limit:
            kwargs["limit"] = limit
        if continue_:
            kwargs["_continue"] = continue_
        result: dict[str, Any] = await self.custom.list_namespaced_custom_object(
            resource.GROUP, resource.VERSION, namespace, plural, **kwargs
        )
        return result

    async def patch(
        self, namespace: str, name: str, patch: dict[str, Any], plural: str = resource.PLURAL
    ) -> dict[str, Any]:
        """A JSON merge patch of the object (spec and metadata)."""
        # The generated client would pick json-patch for a dict body: name the type.
        result: dict[str, Any] = await self.custom.patch_namespaced_custom_object(  # type: ignore[call-arg]
            resource.GROUP, resource.VERSION, namespace, plural, name, patch,
            _content_type=MERGE_PATCH, _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip
        return result

    async def delete(self, namespace: str, name: str) -> None:
        # Background propagation: the object goes at once, its Jobs after it.
        await self.custom.delete_namespaced_custom_object(
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
            propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip

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
        review = client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
        result = await self.authn.create_token_review(review, _request_timeout=REQUEST_TIMEOUT)
        status = result.status
        if status is None or not status.authenticated or status.user is None:
            return None
        user = status.user
        return UserInfo(
            username=user.username or "",
            uid=user.uid,
            groups=tuple(user.groups or ()),
            extra={k: list(v) for k, v in (user.extra or {}).items()},
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
        attributes = client.V1ResourceAttributes(
            namespace=namespace or "",
            verb=verb,
            group=resource.GROUP,
            resource=plural,
            subresource=subresource,
        )
        review = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=user.username,
                uid=user.uid,
                groups=list(user.groups),
                extra=user.extra or None,
                resource_attributes=attributes,
            )
        )
        result = await self.authz.create_subject_access_review(
            review, _request_timeout=REQUEST_TIMEOUT
        )
        return bool(result.status is not None and result.status.allowed)


def _why(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status}"
    return type(exc).__name__
