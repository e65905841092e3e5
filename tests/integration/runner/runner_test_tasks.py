"""Tasks the runner's integration tests run (importable by the runner: PYTHONPATH is this folder).

Named `runner_test_tasks` so that it shadows nothing; not a test module itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from longtask.runner import TaskContext


def tight_loop(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """`calls` progress calls spread over about `seconds` (chunks of calls, pauses between)."""
    calls = int(params.get("calls", 100_000))
    seconds = float(params.get("seconds", 3.0))
    chunks = 50
    per_chunk = calls // chunks
    for chunk in range(chunks):
        for i in range(per_chunk):
            done = chunk * per_chunk + i + 1
            ctx.progress(100 * done / calls, f"call {done}")
        time.sleep(seconds / chunks)
    return {"calls": per_chunk * chunks}


def until_cancelled(ctx: TaskContext, params: dict[str, Any]) -> None:
    """Reports, then waits for cancellation and stops cooperatively."""
    ctx.progress(10, "waiting for cancellation")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ctx.raise_if_cancelled()
        time.sleep(0.02)


async def until_cancelled_async(ctx: TaskContext, params: dict[str, Any]) -> None:
    """The async variant: polls `ctx.cancelled` in the event loop."""
    ctx.progress(10, "waiting for cancellation (async)")
    for _ in range(6000):
        if ctx.cancelled:
            ctx.logger.info("saw cancellation")
            ctx.raise_if_cancelled()
        await asyncio.sleep(0.02)


def ignores_cancellation(ctx: TaskContext, params: dict[str, Any]) -> None:
    """Never looks at cancellation: the runner must still exit after the grace period."""
    ctx.progress(10, "busy")
    time.sleep(120)


def large_result(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    print("building a large result")  # a plain print also reaches the log stream
    return {"text": "x" * int(params.get("size", 20_000))}


def slow_progress(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """`steps` steps of `delay` seconds each, one progress report per step."""
    steps = int(params.get("steps", 40))
    for step in ctx.track(range(steps), message="step {done}/{total}"):
        time.sleep(float(params.get("delay", 0.1)))
        ctx.logger.info("step %d", step)
    return {"steps": steps}


def big_integer(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """A result the API server would store as a float (2**64 is beyond int64)."""
    return {"count": 2**64}
