"""`make bench`: the benchmarks of longtask against their baselines, in one run.

    python -m tests.bench.run [--quick] [--all] [NAME ...]

Each benchmark runs on a local stack of its own and writes `results/<name>.json` and
`results/<name>.md`; this joins the tables into `results/latest.md` with the machine, the
versions and the git commit. Without names it runs the performance targets (`BENCHMARKS`);
`--all` adds the capacity benchmarks (`CAPACITY`). `--quick` (or LONGTASK_BENCH_QUICK=1) uses
small sizes for a smoke run; its results go to `results/quick/` so that they never replace a
full run's."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback

from tests.bench import common, profiling, verdicts
from tests.bench.context import bench_stack

# `make bench`: the performance targets, in the order of the issue (about 20 min here).
BENCHMARKS = [
    "admission",
    "e2e",
    "submit",
    "progress",
    "runner",
]
# `make bench-all` adds the capacity benchmarks: each fills the cluster or a database to a size
# that takes minutes on its own (a drain of 2,000 pods, 110,000 history records, 10,000 tasks).
CAPACITY = [
    "outputs",
    "history",
    "queues",
    "scale",
]
# The tables they write, in the order of the issue (progress writes two).
TABLES = [
    "admission",
    "e2e",
    "progress",
    "fanout",
    "spread",
    "outputs",
    "submit",
    "runner",
    "scale",
    "history",
    "queues",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS, *CAPACITY], default=[])
    parser.add_argument("--all", action="store_true", help="the capacity benchmarks too")
    parser.add_argument(
        "--rebuild", action="store_true", help="only rewrite the tables from the JSON results"
    )
    args = parser.parse_args()
    quick = args.quick or os.environ.get("LONGTASK_BENCH_QUICK") == "1"
    names = args.names or (BENCHMARKS + CAPACITY if args.all else BENCHMARKS)
    if quick:
        common.RESULTS_DIR = common.RESULTS / "quick"
    if args.rebuild:
        return rebuild(quick)
    began = time.monotonic()
    failed: list[str] = []
    sections: list[str] = []
    info: dict[str, object] = {}
    for name in names:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            # Each benchmark on a stack of its own (7 s to start): none inherits another's
            # objects or garbage collection, and none waits for its namespaces to be deleted.
            with bench_stack(quick) as bench:
                info = info or common.machine(server_versions(bench))
                module = importlib.import_module(f"tests.bench.bench_{name}")
                pids = {n: p.pid for n, p in bench.stack.procs.items()}
                with profiling.profiled(name, pids, bench.stack.bin_dir):
                    produced = module.run(bench)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            sections.append(f"### {name}\n\nFAILED: see the run's output.\n")
            continue
        results = produced if isinstance(produced, list) else [produced]
        for result in results:
            result.seconds = time.monotonic() - started
            path = common.write(result, info)
            sections.append(path.read_text())
            print(path.read_text(), flush=True)
        print(f"== {name}: {time.monotonic() - started:.0f} s", flush=True)
    info = info or common.machine({})
    # latest.md holds the newest table of every benchmark, this run's or an earlier one's (a
    # partial run replaces only its own tables; each table names its commit).
    newest = [
        (common.RESULTS_DIR / f"{table}.md").read_text()
        for table in TABLES
        if (common.RESULTS_DIR / f"{table}.md").exists()
    ]
    failures = [s for s in sections if "FAILED" in s]
    header = summary_header(info, quick, time.monotonic() - began)
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)  # every benchmark may have failed
    targets = verdicts.table(common.RESULTS_DIR, BENCHMARKS, quick)
    (common.RESULTS_DIR / "latest.md").write_text(
        header + "\n" + targets + "\n" + "\n".join(newest + failures)
    )
    print(f"results in {common.RESULTS_DIR}; {time.monotonic() - began:.0f} s", flush=True)
    return 1 if failed else 0


def rebuild(quick: bool) -> int:
    """Rewrites every table and latest.md from the JSON results (no stack, no measuring)."""
    info: dict[str, object] = {}
    runs: dict[str, None] = {}
    for table in TABLES:
        path = common.RESULTS_DIR / f"{table}.json"
        if path.exists():
            result, info = common.load(path)
            common.write(result, info)
            runs[f"`{info['commit']}` ({info['date']})"] = None
    if info:
        newest = [
            (common.RESULTS_DIR / f"{t}.md").read_text()
            for t in TABLES
            if (common.RESULTS_DIR / f"{t}.md").exists()
        ]
        header = summary_header(info, quick, 0.0)
        first_line = header.splitlines()[2]
        header = header.replace(first_line, f"- runs: {', '.join(runs)}; each table names its own")
        targets = verdicts.table(common.RESULTS_DIR, BENCHMARKS, quick)
        (common.RESULTS_DIR / "latest.md").write_text(
            header + "\n" + targets + "\n" + "\n".join(newest)
        )
    return 0


def server_versions(bench: object) -> dict[str, str]:
    stack = bench.stack  # type: ignore[attr-defined]
    versions = {}
    try:
        raw = stack.kubectl("version", "-o", "json")
        versions["kube-apiserver"] = json.loads(raw)["serverVersion"]["gitVersion"]
    except (RuntimeError, KeyError, ValueError):
        versions["kube-apiserver"] = "unknown"
    versions["redis-server"] = str(bench.redis.info("server")["redis_version"])  # type: ignore[attr-defined]
    return versions


def summary_header(info: dict[str, object], quick: bool, seconds: float) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())  # type: ignore[attr-defined]
    return (
        f"# longtask benchmarks{' (quick sizes)' if quick else ''}\n\n"
        f"- last run: commit `{info['commit']}`, {info['date']}, {seconds / 60:.1f} min "
        "(each table names the run it comes from)\n"
        f"- {info['cores']} cores ({info['cpu']}), {info['memory_gib']} GiB, "
        f"kernel {info['kernel']}\n- {versions}\n"
        "- every value is over the repetitions of one run (min / median / max); longtask and "
        "its baseline ran in the same run on the same stack\n"
    )


if __name__ == "__main__":
    sys.exit(main())
