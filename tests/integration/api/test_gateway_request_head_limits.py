"""Regression: request heads are bounded, and every refusal is the gateway's JSON error.

An 8 MB header was accepted, a WebSocket upgrade with a 9 KB header got no answer and held its
connection, and a 100 KB URL got a text/plain 400.
"""

from __future__ import annotations

import contextlib
import json
import socket

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.fixtures.gateway import Gateway, create_task

UPGRADE = (
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


def exchange(gateway: Gateway, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the gateway closes: status, headers, body."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as conn:
        # Refused before everything was sent: the answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(raw)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def refused(gateway: Gateway, raw: bytes, status: int, error: str) -> str:
    code, headers, body = exchange(gateway, raw)
    assert code == status, body
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    parsed = json.loads(body)
    assert parsed["error"] == error and parsed["details"] is None
    return str(parsed["message"])


def test_an_8_mb_header_is_refused_with_431(gateway: Gateway) -> None:
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8_000_000 + b"\r\n\r\n"
    assert "65536 bytes" in refused(gateway, raw, 431, "headers_too_large")


def test_one_header_line_over_8_kib_is_refused_with_431(gateway: Gateway) -> None:
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    assert "X-Big exceeds 8190 bytes" in refused(gateway, raw, 431, "headers_too_large")


def test_headers_over_64_kib_together_are_refused_even_in_one_read(gateway: Gateway) -> None:
    with gateway.client() as http:
        response = http.get("/healthz", headers={f"X-Big-{i}": "b" * 8000 for i in range(10)})
    assert response.status_code == 431 and response.json()["error"] == "headers_too_large"


def test_too_many_headers_are_refused_with_431(gateway: Gateway) -> None:
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(1000))
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"
    assert "at most 100 headers" in refused(gateway, raw, 431, "headers_too_large")


def test_a_100_kb_url_is_refused_with_a_json_414(gateway: Gateway) -> None:
    raw = b"GET /healthz?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    refused(gateway, raw, 414, "url_too_long")


def test_a_head_that_is_not_http_gets_a_json_400(gateway: Gateway) -> None:
    refused(gateway, b"NOT HTTP AT ALL\r\n\r\n", 400, "bad_request")


def test_a_websocket_upgrade_with_a_9_kb_header_gets_431_and_is_closed(
    gateway: Gateway, namespace: str
) -> None:
    create_task(gateway, namespace, name="sock")
    path = f"/v1/namespaces/{namespace}/tasks/sock/ws".encode()
    raw = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + UPGRADE + b"X-Big: " + b"a" * 9000
    # Fifty at once: each is answered and closed, none is held.
    for _ in range(50):
        refused(gateway, raw + b"\r\n\r\n", 431, "headers_too_large")
    url = gateway.url.replace("http://", "ws://") + path.decode()
    with pytest.raises(InvalidStatus) as rejected:
        ws_connect(url, additional_headers={**gateway.headers, "X-Big": "a" * 9000})
    assert rejected.value.response.status_code == 431


def test_heads_within_the_limits_still_work(gateway: Gateway) -> None:
    with gateway.client() as http:
        response = http.get("/healthz", headers={f"X-H{i}": "v" * 8000 for i in range(5)})
    assert response.status_code == 200
