"""Raw JSON requests to the Kubernetes API over a kubernetes_asyncio `ApiClient`.

Design choices:
1. Bodies are sent and answers read as plain JSON (`Client.call`): kubernetes_asyncio's typed
   models cost more CPU to build from an answer and turn back into dicts than the rest of a
   reconcile or a submit. Its `ApiClient` still brings the configuration, the authentication and
   any `request` override (the operator's leadership guard).
2. What differs between the operator and the gateway is a parameter, not a copy: the JSON
   decoder (orjson in the operator, the standard library's in the gateway, which does not
   install orjson), the default timeout, and per call the statuses that mean "absent" (None
   instead of an error: 404 gone, 409 exists).
3. The environment's proxy variables are read once per `ApiClient` (`settle_environment`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Final, cast, overload
from urllib.parse import quote

from aiohttp import helpers
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from yarl import URL

JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"
# A decoder of an answer's body: json.loads or orjson.loads.
Loads = Callable[[bytes], Any]


def core_path(namespace: str, *rest: str) -> str:
    """The path of a namespace (no `rest`) or of objects in it, in the core API group."""
    return "/api/v1/namespaces/" + _quoted(namespace, *rest)


def group_path(group: str, version: str, namespace: str, *rest: str) -> str:
    """The path of objects in a namespace, in an API group (batch, longtask.io, ...)."""
    return f"/apis/{group}/{version}/namespaces/" + _quoted(namespace, *rest)


def _quoted(*parts: str) -> str:
    # Each part quoted whole: a name with a "/" never adds a level.
    return "/".join(quote(part, safe="") for part in parts)


def settle_environment(api: client.ApiClient) -> None:
    """Read the proxy variables once, not per request.

    kubernetes_asyncio's aiohttp session trusts the environment, so aiohttp looked up `~/.netrc`
    and the proxy variables in a thread for every request (a tenth of the operator's CPU in a
    burst). The proxy the environment names for the API server is kept; `.netrc` never applied
    (the API server's credentials come from the kubeconfig or the service account)."""
    rest_client = api.rest_client
    if not rest_client.proxy:
        with contextlib.suppress(LookupError):
            proxy, auth = helpers.get_env_proxy_for_url(URL(api.configuration.host or ""))
            rest_client.proxy = str(proxy)
            if auth is not None:
                rest_client.proxy_headers = {"Proxy-Authorization": auth.encode()}
    rest_client.pool_manager._trust_env = False


class Client:
    """Raw JSON calls over one `ApiClient` (design choice 1), decoded by `loads`, each bounded
    by `request_timeout` seconds unless the call says otherwise (choice 2)."""

    def __init__(
        self, api: client.ApiClient, *, request_timeout: float, loads: Loads = json.loads
    ) -> None:
        self.api = api
        self.request_timeout = request_timeout
        self.loads = loads

    @overload
    async def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = ...,
        query: Mapping[str, str] | None = ...,
        content_type: str = ...,
        *,
        absent: tuple[()] = ...,
        request_timeout: float | None = ...,
    ) -> dict[str, Any]: ...

    @overload
    async def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = ...,
        query: Mapping[str, str] | None = ...,
        content_type: str = ...,
        *,
        absent: tuple[int, ...],
        request_timeout: float | None = ...,
    ) -> dict[str, Any] | None: ...

    async def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        content_type: str = JSON,
        *,
        absent: tuple[int, ...] = (),
        request_timeout: float | None = None,
    ) -> dict[str, Any] | None:
        """One request with a raw JSON body; the answer's JSON, or None when its status is in
        `absent`. Any other status than 2xx raises ApiException with the answer's body (a
        Kubernetes Status) and headers."""
        response = await self.api.call_api(
            path,
            method,
            query_params=list((query or {}).items()),
            header_params={"Accept": JSON, "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=self.request_timeout if request_timeout is None else request_timeout,
        )
        async with response:
            data = await response.read()
            if 200 <= response.status <= 299:
                return cast(dict[str, Any], self.loads(data))
            if response.status in absent:
                return None
            failure = ApiException(status=response.status, reason=response.reason)
            failure.body = data.decode(errors="replace")
            failure.headers = response.headers
            raise failure
