"""Patches the LongTask's status subresource (merge patch) with the runner's fields.

The runner writes only `progress`, `message`, `result` and `resultRef`; `phase` and the rest
belong to the operator. Each patch carries `metadata.uid`, so a LongTask deleted and re-created
under the same name is never patched by the old task's runner (the API server answers 409).
"""

from __future__ import annotations

import os
from typing import Any, Final

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.core import resource

REQUEST_TIMEOUT_SECONDS: Final = 5.0
MERGE_PATCH: Final = "application/merge-patch+json"
# Answers after which patching again cannot help: the object is gone, replaced, or forbidden.
GONE_STATUS_CODES: Final = frozenset({401, 403, 404, 409})
# Answers refusing this one patch (a value the schema rejects): skip it, keep the next ones.
REJECTED_STATUS_CODES: Final = frozenset({400, 422})


class StatusGone(Exception):
    """The status cannot be patched any more (deleted, re-created, forbidden): stop trying."""


class StatusRejected(Exception):
    """The API server refused this patch's content; retrying the same patch cannot help."""


class StatusSink:
    """The Kubernetes side of one attempt's reporting."""

    def __init__(self, namespace: str, name: str, uid: str | None) -> None:
        self._namespace = namespace
        self._name = name
        self._uid = uid
        self._api_client: client.ApiClient | None = None

    async def _api(self) -> client.CustomObjectsApi:
        if self._api_client is None:
            configuration = client.Configuration()
            # The local node hands each pod a kubeconfig; a real kubelet mounts the token.
            try:
                if os.environ.get("KUBECONFIG"):
                    await config.load_kube_config(client_configuration=configuration)
                else:
                    config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except config.ConfigException as exc:
                raise StatusGone(f"no Kubernetes configuration: {exc}") from None
            self._api_client = client.ApiClient(configuration)
        return client.CustomObjectsApi(self._api_client)

    async def patch(self, status: dict[str, Any]) -> None:
        """One merge patch; raises StatusGone when retrying is pointless, else any error."""
        body: dict[str, Any] = {"status": status}
        if self._uid:
            body["metadata"] = {"uid": self._uid}
        api = await self._api()
        try:
            await api.patch_namespaced_custom_object_status(  # type: ignore[call-arg]
                resource.GROUP,
                resource.VERSION,
                self._namespace,
                resource.PLURAL,
                self._name,
                body,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except ApiException as exc:
            if exc.status in GONE_STATUS_CODES:
                raise StatusGone(f"status patch refused: {exc.status} {exc.reason}") from None
            if exc.status in REJECTED_STATUS_CODES:
                raise StatusRejected(f"status patch rejected: {exc.status} {exc.body!r}") from None
            raise

    async def close(self) -> None:
        if self._api_client is not None:
            await self._api_client.close()
