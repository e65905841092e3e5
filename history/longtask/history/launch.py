"""The `longtask-history` console script, or which extra it needs when that is not installed."""

from __future__ import annotations

from longtask.core import extras


def main() -> None:
    with extras.needs("longtask-history", extras.HISTORY):
        from longtask.history import main as history_main
    history_main.main()
