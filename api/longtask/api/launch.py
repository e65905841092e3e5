"""The `longtask-gateway` console script: the gateway, or which extra it needs when that is
not installed."""

from __future__ import annotations

from longtask.core import extras


def main() -> None:
    with extras.needs("the longtask gateway", extras.GATEWAY):
        from longtask.api import main as gateway
    gateway.main()
