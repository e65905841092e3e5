"""Optional sampling profiles of the stack's processes while a benchmark runs (py-spy).

`LONGTASK_BENCH_PROFILE=operator:admission,gateway:progress` records the operator during the
admission benchmark and the gateway during the progress benchmark (py-spy samples from outside
the process, non-blocking, 100 Hz), and writes `results/profiles/<bench>-<component>.md`: the
functions that held the most samples, on their own (self) and with what they called (total).
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.bench import common

TOP = 40


def wanted(benchmark: str) -> list[str]:
    """Components to profile during `benchmark`, from LONGTASK_BENCH_PROFILE."""
    pairs = (p.split(":", 1) for p in os.environ.get("LONGTASK_BENCH_PROFILE", "").split(",") if p)
    return [component for component, bench in pairs if bench == benchmark]


@contextlib.contextmanager
def profiled(benchmark: str, pids: dict[str, int], bin_dir: Path) -> Iterator[None]:
    folder = common.RESULTS_DIR / "profiles"
    recorders: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    for component in wanted(benchmark):
        folder.mkdir(parents=True, exist_ok=True)
        raw = folder / f"{benchmark}-{component}.raw"
        proc = subprocess.Popen(
            [
                str(bin_dir / "py-spy"),
                "record",
                "--nonblocking",
                "--format",
                "raw",
                "--pid",
                str(pids[component]),
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        recorders.append((component, proc, raw))
    try:
        yield
    finally:
        for component, proc, raw in recorders:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            if raw.exists():
                summary = summarise(raw.read_text(), f"{benchmark}: {component}")
                (folder / f"{benchmark}-{component}.md").write_text(summary)
                raw.unlink()


def summarise(collapsed: str, title: str) -> str:
    """Top functions by self and total samples from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # "function (file:line)" → "function (file)": one row per function, not per line.
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"# Profile of {title}", "", f"{samples} samples (py-spy, 100 Hz).", ""]
    for heading, counter in (("Self", own), ("Total (with callees)", total)):
        lines += [f"## {heading}", "", "| % | function |", "| ---: | --- |"]
        for frame, count in counter.most_common(TOP):
            lines.append(f"| {100 * count / max(samples, 1):.1f} | `{frame}` |")
        lines.append("")
    return "\n".join(lines)
