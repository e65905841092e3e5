"""API keys: hashed configuration, namespace grants, constant-time lookup."""

from __future__ import annotations

import pytest
from longtask.api import apikeys

KEY_A, KEY_B = "alpha-key", "beta-key"
CONFIG = f"{apikeys.hash_key(KEY_A)}:team-a, team-b ;\n# comment\n{apikeys.hash_key(KEY_B)}:*"


def test_parse_and_find() -> None:
    grants = apikeys.parse(CONFIG)
    a = apikeys.find(grants, KEY_A)
    b = apikeys.find(grants, KEY_B)
    assert a is not None and a.namespaces == frozenset({"team-a", "team-b"})
    assert b is not None and b.namespaces is None
    assert apikeys.find(grants, "nope") is None


def test_grants_by_namespace() -> None:
    grants = apikeys.parse(CONFIG)
    a = apikeys.find(grants, KEY_A)
    assert a is not None
    assert a.allows("team-a") and not a.allows("team-c")
    assert not a.allows(None)  # across all namespaces needs '*'
    b = apikeys.find(grants, KEY_B)
    assert b is not None and b.allows(None)


@pytest.mark.parametrize("bad", ["plaintext:ns", "abc:ns", f"{'a' * 64}", f"{'a' * 64}:"])
def test_bad_entries_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        apikeys.parse(bad)
    assert "plaintext" not in str(info.value)
