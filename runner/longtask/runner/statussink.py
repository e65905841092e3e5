"""Patches the LongTask's status subresource (merge patch) with the runner's fields.

The runner writes only `progress`, `message`, `result` and `resultRef`; `phase` and the rest
belong to the operator. Before its first patch the sink reads the LongTask once and checks its
UID, so that a runner whose task was deleted and re-created under the same name never patches
the new task. (A `metadata.uid` in a status merge patch is no precondition: the status strategy
keeps the stored metadata and the API server accepts the patch.)

Two plain HTTPS requests over httpx with the pod's service-account token (see `credentials`):
a Kubernetes client library would cost the runner's start most of its time to import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx
from longtask.core import resource
from longtask.runner import credentials
from longtask.runner.errors import StatusGone, StatusRejected

REQUEST_TIMEOUT_SECONDS: Final = 5.0
MERGE_PATCH: Final = "application/merge-patch+json"
# The name the API server records in managedFields for the fields the runner writes.
FIELD_MANAGER: Final = "longtask-runner"
# Answers after which patching again cannot help: the object is gone or replaced. 401 and 403
# are not among them: an API server that has just restarted answers them until its token
# authenticator and RBAC caches are ready, and giving up then froze the status for good (found by
# the API-server-restart drill). They are retried with backoff like any other error.
GONE_STATUS_CODES: Final = frozenset({404, 409})
# Answers refusing this one patch (a value the schema rejects): skip it, keep the next ones.
REJECTED_STATUS_CODES: Final = frozenset({400, 422})


class StatusSink:
    """The Kubernetes side of one attempt's reporting."""

    def __init__(
        self,
        namespace: str,
        name: str,
        uid: str | None,
        find_credentials: Callable[[], credentials.Credentials] = credentials.from_environ,
    ) -> None:
        self._uid = uid
        self._path = (
            f"/apis/{resource.GROUP}/{resource.VERSION}/namespaces/{namespace}"
            f"/{resource.PLURAL}/{name}"
        )
        self._find_credentials = find_credentials
        self._credentials: credentials.Credentials | None = None
        self._http: httpx.AsyncClient | None = None
        self._verified = uid is None

    def _client(self) -> tuple[httpx.AsyncClient, credentials.Credentials]:
        if self._http is None or self._credentials is None:
            try:
                found = self._find_credentials()
            except credentials.ConfigError as exc:
                raise StatusGone(f"no Kubernetes configuration: {exc}") from None
            self._http = httpx.AsyncClient(
                base_url=found.server,
                verify=found.ssl_context(),
                timeout=REQUEST_TIMEOUT_SECONDS,
                headers={"User-Agent": FIELD_MANAGER},
            )
            self._credentials = found
        return self._http, self._credentials

    async def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        http, found = self._client()
        headers = {"Authorization": f"Bearer {found.bearer()}"}  # read now: rotation
        if body is not None:
            headers["Content-Type"] = MERGE_PATCH
        response = await http.request(
            method,
            path,
            headers=headers,
            params=params,
            content=None if body is None else json.dumps(body).encode(),
        )
        code = response.status_code
        if code in GONE_STATUS_CODES:
            raise StatusGone(f"status patch refused: {code} {response.reason_phrase}")
        if code in REJECTED_STATUS_CODES:
            raise StatusRejected(f"status patch rejected: {code} {response.text!r}")
        response.raise_for_status()  # 401, 403, 5xx: the reporter retries with backoff
        return response

    async def _verify(self) -> None:
        found = (await self._request("GET", self._path)).json()
        uid = found.get("metadata", {}).get("uid")
        if uid != self._uid:
            raise StatusGone(f"{self._path} is another task now (uid {uid})")
        self._verified = True

    async def patch(self, status: resource.Status) -> None:
        """One merge patch; raises StatusGone when retrying is pointless, else any error."""
        if not self._verified:
            await self._verify()
        await self._request(
            "PATCH",
            f"{self._path}/status",
            body={"status": status},
            params={"fieldManager": FIELD_MANAGER},
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
