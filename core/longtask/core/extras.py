"""The extras of the `longtask` distribution, and what a console script says when one is missing.

`pip install longtask` installs the runner and the task SDK only; every other part needs its
extra (`pip install 'longtask[client]'`). The console scripts of those parts are launchers that
import their part inside `needs`: a library of the extra that is not installed ends the
process with one line naming the extra, instead of a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Final

CLIENT: Final = "client"  # longtask.client and the `longtask` command
GATEWAY: Final = "gateway"  # longtask.api, `longtask-gateway`
OPERATOR: Final = "operator"  # longtask.operator, `longtask-operator`
HISTORY: Final = "history"  # longtask.history, `longtask-history`; the operator and gateway
# The exit code of a launcher whose extra is missing: nothing ran, like a usage error.
MISSING_EXIT: Final = 2


def install_hint(extra: str) -> str:
    return f"pip install 'longtask[{extra}]'"


@contextlib.contextmanager
def needs(what: str, extra: str) -> Iterator[None]:
    """Run the block's imports; a library missing from outside longtask exits the process
    with MISSING_EXIT and a line saying that `what` needs `extra`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        library = (exc.name or "").partition(".")[0]
        if not library or library == "longtask":
            raise  # a part of longtask itself is missing: a broken install, not an extra
        print(
            f"{what} needs the {extra} extra ({library} is not installed): {install_hint(extra)}",
            file=sys.stderr,
        )
        raise SystemExit(MISSING_EXIT) from None
