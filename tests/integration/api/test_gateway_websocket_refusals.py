"""Regression: every WebSocket refusal is told apart by its close code and reason (they were
all a bare 403 before the handshake: no auth, bad token, unknown task, bad lastEventId alike)."""

from __future__ import annotations

import pytest
from longtask.api import apikeys
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect as ws_connect

from tests.fixtures.gateway import Gateway, GatewayFactory, create_task


def close_of(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """The close code and reason the gateway ends the socket with, before any message."""
    with (
        ws_connect(url, additional_headers=headers or {}) as ws,
        pytest.raises(ConnectionClosedError) as closed,
    ):
        ws.recv(timeout=30)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_websocket_refusals_have_distinct_close_codes(gateway: Gateway, namespace: str) -> None:
    create_task(gateway, namespace, name="sock")
    base = gateway.url.replace("http://", "ws://") + f"/v1/namespaces/{namespace}/tasks"
    with gateway.client() as http:
        other = create_task(gateway, namespace, name="other")["name"]
        token = http.post(f"/v1/namespaces/{namespace}/tasks/{other}/stream-token").json()
    auth = gateway.headers

    code, reason = close_of(f"{base}/sock/ws")
    assert code == 4401 and "bearer token" in reason
    code, reason = close_of(f"{base}/sock/ws", {"Authorization": "Bearer wrong"})
    assert code == 4401
    code, reason = close_of(f"{base}/sock/ws?token={token['token']}")  # another task's token
    assert code == 4419 and "stream token" in reason
    code, reason = close_of(f"{base}/sock/ws?token=v1.tampered.mac")
    assert code == 4419
    code, reason = close_of(f"{base}/missing/ws", auth)
    assert code == 4404 and "missing" in reason
    code, reason = close_of(f"{base}/sock/ws?lastEventId=yesterday", auth)
    assert code == 4400 and "lastEventId" in reason
    code, reason = close_of(f"{base}/Not_A_Name/ws", auth)
    assert code == 4400


def test_websocket_refuses_a_key_of_another_namespace_with_4403(
    gateway_factory: GatewayFactory, namespace: str
) -> None:
    scoped = "a-key-for-the-default-namespace-only"
    gw = gateway_factory(api_keys=f"{apikeys.hash_key(scoped)}:default")
    create_task(gw, namespace, name="sock")
    url = gw.url.replace("http://", "ws://") + f"/v1/namespaces/{namespace}/tasks/sock/ws"
    code, reason = close_of(url, {"Authorization": f"Bearer {scoped}"})
    assert code == 4403 and namespace in reason
