"""The `longtask` console script: the CLI, or which extra it needs when that is not installed."""

from __future__ import annotations

from longtask.core import extras


def main() -> None:
    with extras.needs("the longtask CLI", extras.CLIENT):
        from longtask.cli import (
            queuecmds,  # registers `longtask queue …`
            schedulecmds,  # registers `longtask schedule …`
        )
        from longtask.cli.commands import app
    del queuecmds, schedulecmds
    app()
