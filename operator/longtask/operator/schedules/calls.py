"""Calls to the Kubernetes API for schedules and their runs (kubernetes_asyncio), over the
operator's client: the same connection, and writes counted in the same metric.

As in `kube`, every call is idempotent in effect: creating an existing run returns None,
cancelling or deleting a missing one is a no-op. A status or spec patch carries the
resourceVersion decided on and raises `Conflict` when the schedule changed meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from kubernetes_asyncio.client.exceptions import ApiException
from longtask.core import resource, schedule
from longtask.kubeclient import rawjson

from ..kube import COMPONENT, REQUEST_TIMEOUT_SECONDS, Kube, served


class Conflict(Exception):
    """The schedule changed since the decision (its resourceVersion moved on)."""


class Calls:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.custom = kube.custom

    async def list_runs(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        """Every LongTask labelled with a schedule, in the served namespaces."""
        selector = schedule.LABEL_SCHEDULE

        async def every() -> list[dict[str, Any]]:
            found = await self.custom.list_cluster_custom_object(
                resource.GROUP,
                resource.VERSION,
                resource.PLURAL,
                label_selector=selector,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
            return list(found.get("items") or [])

        async def one(namespace: str) -> list[dict[str, Any]]:
            found = await self.custom.list_namespaced_custom_object(
                resource.GROUP,
                resource.VERSION,
                namespace,
                resource.PLURAL,
                label_selector=selector,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
            return list(found.get("items") or [])

        return await served(namespaces, every, one)

    async def _read(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found = await self.custom.get_namespaced_custom_object(
                resource.GROUP,
                resource.VERSION,
                namespace,
                plural,
                name,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return cast(dict[str, Any], found)

    async def read_schedule(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._read(schedule.PLURAL, namespace, name)

    async def read_run(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._read(resource.PLURAL, namespace, name)

    async def create_run(self, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
        """The created run, or None when a LongTask of that name exists already."""
        self.kube.writes["create_task"] += 1
        try:
            created = await self.custom.create_namespaced_custom_object(
                resource.GROUP,
                resource.VERSION,
                manifest["metadata"]["namespace"],
                resource.PLURAL,
                cast(Any, dict(manifest)),
                field_manager=COMPONENT,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except ApiException as exc:
            if exc.status == 409:
                return None
            raise
        return cast(dict[str, Any], created)

    async def cancel_run(self, namespace: str, name: str) -> None:
        """Set the run's spec.cancel: the task controller stops its attempt (SIGTERM)."""
        self.kube.writes["patch_task"] += 1
        try:
            await self.custom.patch_namespaced_custom_object(  # type: ignore[call-arg]
                resource.GROUP,
                resource.VERSION,
                namespace,
                resource.PLURAL,
                name,
                {"spec": {"cancel": True}},
                field_manager=COMPONENT,
                _content_type=rawjson.MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except ApiException as exc:
            if exc.status != 404:
                raise

    async def patch_schedule(
        self,
        namespace: str,
        name: str,
        resource_version: str,
        spec: Mapping[str, Any] | None = None,
        status: schedule.ScheduleStatus | None = None,
    ) -> dict[str, Any] | None:
        """Merge-patch the schedule's spec or status (not both) if it is still at
        `resource_version`; the updated schedule, or None if it is gone."""
        body: dict[str, Any] = {"metadata": {"resourceVersion": resource_version}}
        if status is not None:
            body["status"] = dict(status)
            call = self.custom.patch_namespaced_custom_object_status
            self.kube.writes["patch_schedule_status"] += 1
        else:
            body["spec"] = dict(spec or {})
            call = self.custom.patch_namespaced_custom_object
            self.kube.writes["patch_schedule"] += 1
        try:
            updated = await call(  # type: ignore[call-arg]
                schedule.GROUP,
                schedule.VERSION,
                namespace,
                schedule.PLURAL,
                name,
                body,
                field_manager=COMPONENT,
                _content_type=rawjson.MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status == 409:
                raise Conflict(
                    f"{namespace}/{name} changed since resourceVersion {resource_version}"
                ) from None
            raise
        return cast(dict[str, Any], updated)
