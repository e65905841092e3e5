"""Authentication and authorisation of gateway calls, one class per auth mode.

- `kubernetes`: the bearer token is checked with a TokenReview, each call with a
  SubjectAccessReview for the verb on `longtasks` (or `longtaskschedules`) in the namespace;
  both cached briefly.
- `apikey`: the bearer token is an API key, compared by SHA-256 hash; it grants namespaces.
- `none`: everyone may do everything (the app refuses to start unless bound to loopback).
Tokens and keys are never logged; cache keys are their hashes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

from longtask.api import apikeys
from longtask.api.kube import Kube, UserInfo
from longtask.core import resource

CACHE_MAX_ENTRIES: Final = 10_000
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Principal:
    """Who calls: a display name (never a secret) and what the mode knows about them."""

    name: str
    grant: apikeys.Grant | None = None
    user: UserInfo | None = None
    token_digest: str = ""


ANONYMOUS: Final = Principal("anonymous")


class Authorizer(Protocol):
    async def authenticate(self, token: str | None) -> Principal | None:
        """The caller of a bearer token (None when missing or invalid)."""

    async def allowed(
        self, principal: Principal, verb: str, namespace: str | None, plural: str = resource.PLURAL
    ) -> bool:
        """Whether the caller may `verb` the resource `plural` (longtasks, longtaskschedules) in
        `namespace` (None: all namespaces)."""


class TtlCache(Generic[K, V]):
    """A small cache whose entries expire; cleared wholesale when full (bounded memory)."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: K, value: V) -> None:
        if self._ttl <= 0:
            return
        if len(self._entries) >= CACHE_MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, value)


class NoAuth:
    async def authenticate(self, token: str | None) -> Principal | None:
        return ANONYMOUS

    async def allowed(
        self, principal: Principal, verb: str, namespace: str | None, plural: str = resource.PLURAL
    ) -> bool:
        return True


class ApiKeyAuth:
    def __init__(self, grants: Iterable[apikeys.Grant]) -> None:
        self._grants = list(grants)

    async def authenticate(self, token: str | None) -> Principal | None:
        if not token:
            return None
        grant = apikeys.find(self._grants, token)
        if grant is None:
            return None
        return Principal(f"apikey:{grant.digest[:8]}", grant=grant)

    async def allowed(
        self, principal: Principal, verb: str, namespace: str | None, plural: str = resource.PLURAL
    ) -> bool:
        return principal.grant is not None and principal.grant.allows(namespace)


class KubernetesAuth:
    def __init__(self, kube: Kube, ttl: float) -> None:
        self._kube = kube
        self._users: TtlCache[str, UserInfo | None] = TtlCache(ttl)
        self._access: TtlCache[tuple[str, str, str, str], bool] = TtlCache(ttl)

    async def authenticate(self, token: str | None) -> Principal | None:
        if not token:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        hit, user = self._users.get(digest)
        if not hit:
            user = await self._kube.review_token(token)
            self._users.put(digest, user)
        if user is None:
            return None
        return Principal(user.username, user=user, token_digest=digest)

    async def allowed(
        self, principal: Principal, verb: str, namespace: str | None, plural: str = resource.PLURAL
    ) -> bool:
        if principal.user is None:
            return False
        key = (principal.token_digest, verb, namespace or "", plural)
        hit, allowed = self._access.get(key)
        if not hit:
            allowed = await self._kube.review_access(principal.user, verb, namespace, plural=plural)
            self._access.put(key, allowed)
        return bool(allowed)


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
