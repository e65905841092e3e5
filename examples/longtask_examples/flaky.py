"""Fails on its first attempt and resumes from its checkpoint on the second.

The first attempt processes `fail_after` of `items`, checkpointing after each, then fails with a
retryable error (exit 1); the operator schedules attempt 2, which reads the checkpoint and
processes only the rest. The result says where each attempt started.

params: `items` (default 10), `fail_after` (default items // 2), `delay` (default 0.05).
"""

from __future__ import annotations

import time
from typing import Any

from longtask.runner import TaskContext


class FlakyError(RuntimeError):
    """The simulated transient failure (a dropped connection, a preempted node)."""


def resume_after_failure(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    items = int(params.get("items", 10))
    fail_after = int(params.get("fail_after", items // 2))
    delay = float(params.get("delay", 0.05))
    state = ctx.last_checkpoint or {"done": 0, "starts": []}
    state["starts"].append({"attempt": ctx.attempt, "from": state["done"]})
    start = 100 * state["done"] / max(items, 1)
    for index in ctx.track(range(state["done"], items), message="item {item}", start=start):
        if ctx.attempt == 1 and index == fail_after:
            raise FlakyError(f"simulated failure after {index} items")
        time.sleep(delay)
        state["done"] = index + 1
        ctx.checkpoint(state)
    return {"items": items, "starts": state["starts"]}
