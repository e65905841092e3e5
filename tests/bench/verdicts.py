"""The performance targets, judged from the newest results: one table for `results/latest.md`.

Each row takes the median over a benchmark's repetitions, next to the baseline measured in the
same run, with the commit the figures come from. A figure missing from the results (a benchmark
not run yet, or failed) says so instead of a verdict.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Final

from tests.bench import common
from tests.bench.bench_admission import WITHOUT_USERS

BENCH_MINUTES: Final = 25.0  # `make bench`
QUICK_MINUTES: Final = 8.0  # `make bench-quick`


class Missing(LookupError):
    """A figure the results do not hold."""


@dataclasses.dataclass(frozen=True)
class Results:
    """The newest result of every benchmark in a results folder."""

    by_name: dict[str, common.Result]
    commits: dict[str, str]

    @classmethod
    def load(cls, folder: Path, names: list[str]) -> Results:
        by_name, commits = {}, {}
        for name in names:
            path = folder / f"{name}.json"
            if path.exists():
                result, info = common.load(path)
                by_name[name], commits[name] = result, str(info["commit"])
        return cls(by_name, commits)

    def median(self, name: str, metric: str, system: str) -> float:
        result = self.by_name.get(name)
        for row in result.rows if result else []:
            if row.metric == metric and row.system == system and row.values:
                return float(statistics.median(row.values))
        raise Missing(f"{name}: {metric} ({system})")


@dataclasses.dataclass(frozen=True)
class Target:
    number: str
    goal: str
    source: str  # the benchmark whose results it reads
    judge: Callable[[Results], tuple[str, str, bool]]  # (longtask, baseline, met)


def _fanout(r: Results) -> tuple[str, str, bool]:
    until = r.median(
        "progress", "1000 clients: until it or a newer update arrived, p99", "longtask"
    )
    every = r.median(
        "progress", "1000 clients: clients with every phase, result and end event", "longtask"
    )
    seed = r.median(
        "progress",
        "1000 clients: until it or a newer update arrived, p99",
        "baseline: seed polling",
    )
    return (
        f"p99 {until:,.0f} ms; every phase, result and end at {every:.0f} % of clients",
        f"seed polling: {seed:,.0f} ms",
        until <= 100 and every == 100,
    )


def _viewer(r: Results) -> tuple[str, str, bool]:
    p99 = r.median("progress", "1 client: p99", "longtask")
    seen = r.median("progress", "1 client: updates seen (mean)", "longtask")
    seed = r.median("progress", "1 client: updates seen (mean)", "baseline: seed polling")
    return (
        f"p99 {p99:.1f} ms, {seen:.1f} % seen",
        f"seed polling: {seed:.0f} % seen",
        (p99 <= 10 and seen >= 100),
    )


def _admission(r: Results) -> tuple[str, str, bool]:
    rate = r.median("admission", "burst: tasks with a Job per second", "longtask")
    bare = r.median("admission", "burst: tasks with a Job per second", "baseline: bare Jobs")
    writes = r.median("admission", "burst: operator API writes per task", "longtask")
    steady = r.median("admission", "steady 20/s: create → Job p99", "longtask")
    try:  # what the tasks' own Redis users cost: shown, never judged (the default keeps them)
        plain = r.median("admission", "burst: tasks with a Job per second", WITHOUT_USERS)
        without = f"; without per-task Redis users {plain / bare:.2f}x"
    except Missing:
        without = ""
    return (
        f"{rate:.0f} tasks/s ({rate / bare:.2f}x), {writes:.1f} writes per task; steady p99 "
        f"{steady:.0f} ms{without}",
        f"bare Jobs {bare:.0f}/s",
        rate >= 100 and rate / bare >= 0.5 and steady <= 100,
    )


def _end_to_end(r: Results) -> tuple[str, str, bool]:
    rate = r.median("e2e", "throughput", "longtask")
    bare = r.median("e2e", "throughput", "baseline: bare Jobs running `true`")
    start = r.median("e2e", "process start: longtask-runner running `true`", "local node")
    return (
        f"{rate:.2f} tasks/s ({rate / bare:.2f}x); runner start {start:.0f} ms",
        f"bare Jobs {bare:.2f}/s",
        rate / bare >= 0.7 and start <= 300,
    )


def _patches(r: Results) -> tuple[str, str, bool]:
    worst = max(
        r.median("runner", f"status patches at {rate} calls/s", "longtask")
        for rate in ("1", "100", "10,000")
    )
    return f"at most {worst:.1f} per task-minute (1 to 10,000 calls/s)", "—", worst <= 30


def _submit(r: Results) -> tuple[str, str, bool]:
    p99 = r.median("submit", "200/s: p99", "longtask gateway")
    failed = r.median("submit", "200/s: failed requests", "longtask gateway")
    direct = r.median("submit", "200/s: p99", "baseline: Kubernetes client")
    return (
        f"200/s: p99 {p99:,.0f} ms, {failed:g} failed",
        f"Kubernetes client directly: p99 {direct:.0f} ms",
        p99 < 1000 and failed == 0,
    )


TARGETS: Final = [
    Target(
        "1",
        "fan-out: 1,000 clients, until a client holds it or a newer one p99 ≤ 100 ms",
        "progress",
        _fanout,
    ),
    Target("2", "one viewer: p99 ≤ 10 ms, 100 % seen", "progress", _viewer),
    Target(
        "3",
        "admission: ≥ 100/s and ≥ 0.5x bare Jobs; steady 20/s p99 ≤ 100 ms",
        "admission",
        _admission,
    ),
    Target("4", "end to end ≥ 0.7x bare Jobs; runner start ≤ 0.3 s", "e2e", _end_to_end),
    Target("5", "≤ 30 status patches per task-minute", "runner", _patches),
    Target("5", "submit: 200 requests/s through one gateway, p99 < 1 s", "submit", _submit),
]


def table(folder: Path, names: list[str], quick: bool) -> str:
    """The targets section of latest.md from the results in `folder`; `names` are the
    benchmarks of `make bench`, whose own times add up to the run's (target 6)."""
    results = Results.load(folder, names)
    lines = ["## Targets", ""]
    if quick:
        lines += ["Quick sizes: the targets are judged on full-size runs only.", ""]
    lines += [
        "| # | target | longtask | same-run baseline | commit | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for target in [] if quick else TARGETS:
        try:
            mine, base, met = target.judge(results)
        except Missing as exc:
            mine, base, met = f"no result ({exc})", "—", False
        commit = results.commits.get(target.source, "—")
        verdict = "met" if met else "**missed**"
        lines.append(
            f"| {target.number} | {target.goal} | {mine} | {base} | `{commit}` | {verdict} |"
        )
    lines.append(_duration(results, names, quick))
    return "\n".join(lines) + "\n"


def _duration(results: Results, names: list[str], quick: bool) -> str:
    bound = QUICK_MINUTES if quick else BENCH_MINUTES
    goal = f"`make bench{'-quick' if quick else ''}` ≤ {bound:g} min"
    commits = {results.commits.get(name) for name in names}
    if len(commits) != 1 or None in commits:
        return (
            f"| 6 | {goal} | the benchmarks' newest results come from different runs | — | — | — |"
        )
    minutes = sum(results.by_name[name].seconds for name in names) / 60
    verdict = "met" if minutes <= bound else "**missed**"
    return f"| 6 | {goal} | {minutes:.1f} min | — | `{commits.pop()}` | {verdict} |"
