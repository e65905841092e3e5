"""Short-lived signed tokens that open one task's event stream (browsers' EventSource and
WebSocket cannot send an Authorization header).

A token is `v1.<payload>.<mac>`: base64url JSON {ns, name, exp} and its HMAC-SHA256 under the
gateway's secret (configured, or random per process: then tokens die with the process). A token
for name "*" opens the namespace-wide stream only, never a task's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Final

VERSION: Final = "v1"
NAMESPACE_WIDE: Final = "*"
MAX_TOKEN_CHARS: Final = 1024


@dataclass(frozen=True, slots=True)
class Scope:
    """What a token opens: one task's stream, or with name "*" the namespace's stream."""

    namespace: str
    name: str = NAMESPACE_WIDE


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Issues and verifies stream tokens under one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the stream token secret must have at least 16 bytes")
        self._secret = secret

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def issue(self, scope: Scope, expires_at: int) -> str:
        """A token for `scope`, valid until `expires_at` (unix seconds)."""
        body = json.dumps(
            {"ns": scope.namespace, "name": scope.name, "exp": int(expires_at)},
            separators=(",", ":"),
        )
        payload = _b64(body.encode())
        return f"{VERSION}.{payload}.{self._mac(payload)}"

    def verify(self, token: str, scope: Scope, now: float) -> bool:
        """Whether `token` is intact, unexpired and issued for exactly `scope`."""
        if len(token) > MAX_TOKEN_CHARS:
            return False
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION:
            return False
        _, payload, mac = parts
        if not hmac.compare_digest(mac, self._mac(payload)):
            return False
        try:
            claims = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            return False
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
            return False
        return bool(
            claims.get("ns") == scope.namespace
            and claims.get("name") == scope.name
            and claims["exp"] > now
        )
