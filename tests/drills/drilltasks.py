"""Python tasks the drills run through the real runner (`task: tests.drills.drilltasks:…`).

The pods import this module through `PYTHONPATH` (the repository root) set in the task's env.
"""

from __future__ import annotations

import time
from typing import Any

from longtask.runner import PermanentError, TaskContext


def steps(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """`count` steps of `step_seconds`, a checkpoint after each; a later attempt resumes at the
    step after the last checkpoint. The result tells where this attempt started."""
    count, pause = int(params["count"]), float(params["step_seconds"])
    saved = ctx.last_checkpoint
    first = int(saved["next"]) if saved else 0
    for step in range(first, count):
        ctx.raise_if_cancelled()
        time.sleep(pause)
        ctx.checkpoint({"next": step + 1})
        ctx.progress((step + 1) * 100.0 / count, f"step {step + 1}/{count}")
    return {"first_step": first, "attempt": ctx.attempt}


def report(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Reports progress `rate` times a second for `seconds`; with `permanent`, then fails
    with PermanentError (the task ends Failed at once, without another attempt)."""
    seconds, rate = float(params["seconds"]), float(params.get("rate", 5))
    start = time.monotonic()
    calls = 0
    while (elapsed := time.monotonic() - start) < seconds:
        ctx.raise_if_cancelled()
        calls += 1
        ctx.progress(min(99.0, elapsed * 100.0 / seconds), f"call {calls}")
        time.sleep(1.0 / rate)
    if params.get("permanent"):
        raise PermanentError("failing on purpose")
    return {"calls": calls}
