"""What every benchmark shares: statistics, process and Redis counters, machine facts, results.

A benchmark returns a `Result`: its sizes, and rows of (metric, system, unit, one value per
repetition, target). `write` turns it into `results/<name>.json` and a markdown table with
min / median / max over the repetitions; `run.py` joins the tables into `results/latest.md`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import redis

RESULTS: Final = Path(__file__).resolve().parent / "results"
RESULTS_DIR = RESULTS  # where this run writes (run.py points quick runs elsewhere)
REPO: Final = Path(__file__).resolve().parents[2]
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
PACKAGES: Final = ("kopf", "fastapi", "uvicorn", "sse-starlette", "redis", "kubernetes-asyncio")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclasses.dataclass
class Row:
    metric: str
    system: str  # "longtask" or "baseline: …"
    unit: str
    values: list[float] = dataclasses.field(default_factory=list)  # one per repetition
    target: str = ""

    def cells(self) -> tuple[float, float, float]:
        if not self.values:
            return (float("nan"),) * 3
        return min(self.values), statistics.median(self.values), max(self.values)


@dataclasses.dataclass
class Result:
    name: str
    title: str
    sizes: dict[str, Any]
    rows: list[Row] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def add(self, metric: str, system: str, unit: str, value: float, target: str = "") -> None:
        """Records one repetition's value (rows are keyed by metric and system)."""
        for row in self.rows:
            if row.metric == metric and row.system == system:
                row.values.append(value)
                return
        self.rows.append(Row(metric, system, unit, [value], target))


def fmt(value: float) -> str:
    if value != value:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(result: Result) -> str:
    sizes = ", ".join(f"{k}={v}" for k, v in result.sizes.items())
    lines = [
        f"### {result.title}",
        "",
        f"Sizes: {sizes}; {result.seconds:.0f} s.",
        "",
        "| metric | system | unit | min | median | max | reps | target |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in result.rows:
        low, mid, high = row.cells()
        lines.append(
            f"| {row.metric} | {row.system} | {row.unit} | {fmt(low)} | {fmt(mid)} | "
            f"{fmt(high)} | {len(row.values)} | {row.target} |"
        )
    lines += ["", *(f"- {note}" for note in result.notes)]
    return "\n".join(lines).rstrip() + "\n"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Cores, memory, CPU model, versions and the git commit, for the results' header."""
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "versions": versions | (extra or {}),
    }


def load(path: Path) -> tuple[Result, dict[str, Any]]:
    """A result and its machine record from a results JSON file."""
    record = json.loads(path.read_text())
    info = record.pop("machine")
    rows = [Row(**row) for row in record.pop("rows")]
    return Result(**record, rows=rows), info


def write(result: Result, info: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {"machine": info, **dataclasses.asdict(result)}
    (RESULTS_DIR / f"{result.name}.json").write_text(json.dumps(record, indent=2, default=str))
    path = RESULTS_DIR / f"{result.name}.md"
    run = f"Commit `{info['commit']}`, {info['date']}. "
    path.write_text(table(result).replace("\n\nSizes: ", f"\n\n{run}Sizes: ", 1))
    return path


# ---- processes and Redis -------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def apiserver_requests(kubectl: Callable[..., str], resource: str, verb: str) -> float:
    """Requests the API server answered so far for `resource` and `verb` (its own metrics)."""
    total = 0.0
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        if (
            line.startswith("apiserver_request_total{")
            and f'resource="{resource}"' in line
            and f'verb="{verb}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def redis_commands(client: redis.Redis) -> int:
    """Commands Redis processed so far (INFO stats)."""
    return int(client.info("stats")["total_commands_processed"])


@dataclasses.dataclass
class Window:
    """CPU, RSS and Redis commands of one process over a measured window."""

    seconds: float
    cpu_cores: float
    rss_mib: float
    redis_per_second: float


def measure(pid: int, client: redis.Redis, seconds: float) -> Window:
    """Samples the process and Redis over `seconds` (the window itself is the measurement)."""
    cpu0, cmd0, t0 = cpu_seconds(pid), redis_commands(client), time.monotonic()
    time.sleep(seconds)
    cpu1, cmd1, t1 = cpu_seconds(pid), redis_commands(client), time.monotonic()
    # The INFO call itself counts as one command per sample.
    return Window(t1 - t0, (cpu1 - cpu0) / (t1 - t0), rss_mib(pid), (cmd1 - cmd0 - 1) / (t1 - t0))
