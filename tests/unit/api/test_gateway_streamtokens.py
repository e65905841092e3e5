"""Stream tokens: scoped to one stream, expiring, tamper-evident."""

from __future__ import annotations

import pytest
from longtask.api.streamtokens import Scope, Signer

SIGNER = Signer(b"0123456789abcdef0123456789abcdef")
TASK = Scope("ns", "demo")


def test_token_opens_its_own_stream() -> None:
    token = SIGNER.issue(TASK, expires_at=1000)
    assert SIGNER.verify(token, TASK, now=999)


def test_token_expires() -> None:
    token = SIGNER.issue(TASK, expires_at=1000)
    assert not SIGNER.verify(token, TASK, now=1000)


@pytest.mark.parametrize("other", [Scope("ns", "other"), Scope("ns2", "demo"), Scope("ns")])
def test_token_does_not_open_other_streams(other: Scope) -> None:
    assert not SIGNER.verify(SIGNER.issue(TASK, 1000), other, now=0)


def test_namespace_token_does_not_open_a_task_named_star() -> None:
    token = SIGNER.issue(Scope("ns"), 1000)
    assert SIGNER.verify(token, Scope("ns"), now=0)
    assert not SIGNER.verify(token, TASK, now=0)


def test_other_secret_or_tampering_fails() -> None:
    token = SIGNER.issue(TASK, 1000)
    assert not Signer(b"x" * 32).verify(token, TASK, now=0)
    version, _payload, mac = token.split(".")
    forged = Signer(b"x" * 32).issue(Scope("ns", "demo"), 10**9).split(".")[1]
    assert not SIGNER.verify(f"{version}.{forged}.{mac}", TASK, now=0)
    assert not SIGNER.verify("garbage", TASK, now=0)
    assert not SIGNER.verify("v1.!!.!!", TASK, now=0)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        Signer(b"short")
