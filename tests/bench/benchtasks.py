"""Python tasks the benchmarks run through the real runner (`task: tests.bench.benchtasks:…`).

The pods find this module through `PYTHONPATH` (the repository root) set in the task's env: the
local node runs pods as local processes, so the benchmark and its tasks share one clock.
"""

from __future__ import annotations

import os
import time
from typing import Any

from longtask.runner import TaskContext

GO_POLL_SECONDS = 0.005


def emit(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Waits for `params["go_file"]` to exist, then reports `count` updates at `rate` per
    second; each message is "<seq> <unix time of the call>" so receivers measure latency."""
    go_file, count, rate = str(params["go_file"]), int(params["count"]), float(params["rate"])
    deadline = time.monotonic() + float(params.get("wait_seconds", 300))
    while not os.path.exists(go_file):
        ctx.raise_if_cancelled()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{go_file} never appeared")
        time.sleep(GO_POLL_SECONDS)
    start = time.monotonic()
    for seq in range(1, count + 1):
        # An absolute schedule, so that a late wake-up does not slow the rate down.
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ctx.progress(seq * 100.0 / count, f"{seq} {time.time():.6f}")
    return {"sent": count}


def stream(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Waits for `params["go_file"]`, then writes `count` items, each "<seq> <unix time of the
    call> ": as output chunks (`kind` "output") or as progress messages ("progress", the
    baseline), at `rate` per second (0: as fast as the task can)."""
    go_file, count, rate = str(params["go_file"]), int(params["count"]), float(params["rate"])
    as_output = params.get("kind", "output") == "output"
    deadline = time.monotonic() + float(params.get("wait_seconds", 300))
    while not os.path.exists(go_file):
        ctx.raise_if_cancelled()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{go_file} never appeared")
        time.sleep(GO_POLL_SECONDS)
    start = time.monotonic()
    for seq in range(1, count + 1):
        if rate:
            delay = start + seq / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        item = f"{seq} {time.time():.6f} "
        if as_output:
            ctx.output(item)
        else:
            ctx.progress(seq * 100.0 / count, item)
    return {"sent": count, "seconds": time.monotonic() - start}
