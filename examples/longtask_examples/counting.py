"""Counts to `n`, reporting progress at each step: the smallest useful task.

params: `n` (steps, default 10), `delay` (seconds per step, default 0.1).
"""

from __future__ import annotations

import time
from typing import Any

from longtask.runner import TaskContext


def count(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    n = int(params.get("n", 10))
    delay = float(params.get("delay", 0.1))
    for _ in ctx.track(range(n), message="counted {done} of {total}"):
        time.sleep(delay)  # the "work" of one step
    ctx.logger.info("counted to %d", n)
    return {"counted": n}
