"""API keys of the `apikey` auth mode: stored as SHA-256 hashes, each mapped to namespaces.

Configuration format (LONGTASK_API_KEYS or a file, entries separated by ';' or newlines):
`<sha256 hex of the key>:<ns1>,<ns2>` or `<sha256 hex>:*` for every namespace. Lines starting
with '#' are comments. Plaintext keys never appear in the configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

ALL: Final = "*"
_HEX64: Final = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Grant:
    """A hashed key and the namespaces it may act in (None: all)."""

    digest: str
    namespaces: frozenset[str] | None

    def allows(self, namespace: str | None) -> bool:
        """Whether the key may act in `namespace` (None: across all namespaces)."""
        if self.namespaces is None:
            return True
        return namespace is not None and namespace in self.namespaces


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse(text: str) -> list[Grant]:
    """Grants of a configuration text; ValueError names the first bad entry (not its key)."""
    grants = []
    for number, raw in enumerate(re.split(r"[;\n]", text), start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        digest, sep, scope = entry.partition(":")
        digest = digest.strip().lower()
        if not sep or not _HEX64.match(digest):
            raise ValueError(f"API key entry {number}: expected '<sha256 hex>:<namespaces>'")
        names = frozenset(n.strip() for n in scope.split(",") if n.strip())
        if not names:
            raise ValueError(f"API key entry {number}: no namespaces (use '*' for all)")
        grants.append(Grant(digest, None if ALL in names else names))
    return grants


def find(grants: Iterable[Grant], plaintext: str) -> Grant | None:
    """The grant of a presented key; compares every digest in constant time."""
    digest = hash_key(plaintext)
    found = None
    for grant in grants:
        if hmac.compare_digest(grant.digest, digest):
            found = grant
    return found
