"""Patches the LongTask's status subresource (merge patch) with the runner's fields.

The runner writes only `progress`, `message`, `result` and `resultRef`; `phase` and the rest
belong to the operator. Before its first patch the sink reads the LongTask once and checks its
UID, so that a runner whose task was deleted and re-created under the same name never patches
the new task. (A `metadata.uid` in a status merge patch is no precondition: the status strategy
keeps the stored metadata and the API server accepts the patch.)
"""

from __future__ import annotations

import os
from typing import Any, Final

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.core import resource

REQUEST_TIMEOUT_SECONDS: Final = 5.0
MERGE_PATCH: Final = "application/merge-patch+json"
# Answers after which patching again cannot help: the object is gone or replaced. 401 and 403
# are not among them: an API server that has just restarted answers them until its token
# authenticator and RBAC caches are ready, and giving up then froze the status for good (found by
# the API-server-restart drill). They are retried with backoff like any other error.
GONE_STATUS_CODES: Final = frozenset({404, 409})
# Answers refusing this one patch (a value the schema rejects): skip it, keep the next ones.
REJECTED_STATUS_CODES: Final = frozenset({400, 422})


class StatusGone(Exception):
    """The status cannot be patched any more (deleted or re-created): stop trying."""


class StatusRejected(Exception):
    """The API server refused this patch's content; retrying the same patch cannot help."""


class StatusSink:
    """The Kubernetes side of one attempt's reporting."""

    def __init__(self, namespace: str, name: str, uid: str | None) -> None:
        self._namespace = namespace
        self._name = name
        self._uid = uid
        self._api_client: client.ApiClient | None = None
        self._verified = uid is None

    async def _verify(self, api: client.CustomObjectsApi) -> None:
        found = await api.get_namespaced_custom_object(
            resource.GROUP,
            resource.VERSION,
            self._namespace,
            resource.PLURAL,
            self._name,
            _request_timeout=REQUEST_TIMEOUT_SECONDS,
        )
        uid = found.get("metadata", {}).get("uid")
        if uid != self._uid:
            raise StatusGone(f"{self._namespace}/{self._name} is another task now (uid {uid})")
        self._verified = True

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
        api = await self._api()
        try:
            if not self._verified:
                await self._verify(api)
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
