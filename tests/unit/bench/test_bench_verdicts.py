"""The targets table of latest.md: medians judged against the targets, a missing figure named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import common, verdicts
from tests.bench.bench_admission import WITHOUT_USERS

INFO = {"commit": "abc123", "date": "today", "cores": 2, "memory_gib": 1, "cpu": "x", "kernel": "k"}


@pytest.fixture(autouse=True)
def _results_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)


def _write(
    folder: Path, name: str, rows: list[tuple[str, str, list[float]]], seconds: float
) -> None:
    assert folder == common.RESULTS_DIR
    result = common.Result(name, name, {}, seconds=seconds)
    for metric, system, values in rows:
        for value in values:
            result.add(metric, system, "", value)
    common.write(result, INFO | {"versions": {}})


def _line(text: str, number: str, words: str) -> str:
    return next(
        line for line in text.splitlines() if line.startswith(f"| {number} |") and words in line
    )


def _admission_row(
    folder: Path, rates: list[float], steady: list[float], without_users: list[float] | None = None
) -> str:
    """Target 3's row, from admission results with these burst rates and steady p99s (bare Jobs
    at 300, 280, 290 per second)."""
    burst = "burst: tasks with a Job per second"
    rows = [
        (burst, "longtask", rates),
        (burst, "baseline: bare Jobs", [300.0, 280.0, 290.0]),
        ("burst: operator API writes per task", "longtask", [3.0, 3.0, 3.0]),
        ("steady 20/s: create → Job p99", "longtask", steady),
    ]
    if without_users is not None:
        rows.append((burst, WITHOUT_USERS, without_users))
    _write(folder, "admission", rows, 100)
    return _line(verdicts.table(folder, ["admission"], quick=False), "3", "admission")


def test_the_median_decides_and_the_baseline_is_shown(tmp_path: Path) -> None:
    row = _admission_row(tmp_path, [90, 160, 150], [40, 500, 60])
    assert "150 tasks/s (0.52x)" in row and "bare Jobs 290/s" in row and row.endswith("| met |")
    assert "`abc123`" in row
    assert "without per-task Redis users" not in row  # not measured: not claimed


def test_the_cost_of_per_task_redis_users_is_shown_but_does_not_judge(tmp_path: Path) -> None:
    row = _admission_row(tmp_path, [120, 122, 125], [30, 33, 35], without_users=[150, 160, 170])
    assert "122 tasks/s (0.42x)" in row and "without per-task Redis users 0.55x" in row
    assert row.endswith("| **missed** |")


def test_a_missed_bound_and_a_missing_result_are_said(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "submit",
        [
            ("200/s: p99", "longtask gateway", [900, 1200, 1100]),
            ("200/s: failed requests", "longtask gateway", [0, 0, 0]),
            ("200/s: p99", "baseline: Kubernetes client", [10, 12, 11]),
        ],
        60,
    )
    text = verdicts.table(tmp_path, ["submit", "runner"], quick=False)
    assert _line(text, "5", "submit").endswith("| **missed** |")
    assert "no result (runner: status patches at 1 calls/s" in _line(text, "5", "patches")
    assert "different runs" in _line(text, "6", "make bench")


def test_the_run_time_adds_up_the_benchmarks_of_one_run(tmp_path: Path) -> None:
    _write(tmp_path, "runner", [], 300)
    _write(tmp_path, "submit", [], 1320)
    assert _line(verdicts.table(tmp_path, ["runner", "submit"], quick=False), "6", "make").endswith(
        "27.0 min | — | `abc123` | **missed** |"
    )
    assert _line(verdicts.table(tmp_path, ["runner"], quick=True), "6", "make").endswith(
        "5.0 min | — | `abc123` | met |"
    )
