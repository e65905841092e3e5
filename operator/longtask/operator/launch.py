"""The `longtask-operator` console script: the operator, or which extra it needs when that is
not installed."""

from __future__ import annotations

from longtask.core import extras


def main() -> None:
    with extras.needs("the longtask operator", extras.OPERATOR):
        from longtask.operator import main as operator_main
    operator_main.main()
