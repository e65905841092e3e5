"""Logs every garbage collection that takes over 20 ms, in each Python process that starts with
this folder first on its `PYTHONPATH` (the benchmark and every part of its stack):

    PYTHONPATH=$PWD/tests/bench/gcprobe:$PWD LONGTASK_GC_LOG=/tmp/gc \\
        .venv/bin/python -m tests.bench.run progress

One file per process in `LONGTASK_GC_LOG` (default: the system's temporary folder): the time,
the generation, how long it took, what it freed, how many objects the collector tracks after a
collection over 0.2 s, and the process's command line. A collection of the oldest generation
walks every tracked object while the process does nothing else: in a server, a pause of every
request it serves.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from typing import Any

_FOLDER = os.environ.get("LONGTASK_GC_LOG") or tempfile.gettempdir()
_began = [0.0]


def _log(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _began[0] = time.perf_counter()
        return
    took = time.perf_counter() - _began[0]
    if took < 0.02:
        return
    tracked = len(gc.get_objects()) if took > 0.2 else None
    line = (
        f"{time.time():.3f} gen{info['generation']} {took * 1000:.0f} ms "
        f"freed={info['collected']} tracked={tracked} {' '.join(sys.argv[:2])[:120]}\n"
    )
    os.makedirs(_FOLDER, exist_ok=True)
    with open(os.path.join(_FOLDER, f"gc-{os.getpid()}.log"), "a") as log:
        log.write(line)


gc.callbacks.append(_log)
