"""The alert rules and the dashboard use only metrics that the code exports: names defined in
longtask.core.metrics (histograms as _bucket/_sum/_count)."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from longtask.core import metrics

from tests.fixtures.packaging import REPO

METRIC = re.compile(r"\blongtask_[a-z0-9_]+")
# Series Prometheus itself makes about every target.
PROMETHEUS_SERIES = {"up"}


def exported() -> set[str]:
    names = {v for k, v in vars(metrics).items() if k.isupper() and isinstance(v, str)}
    assert names, "no metric names in longtask.core.metrics"
    for histogram in metrics.HISTOGRAMS:
        names |= {f"{histogram}_bucket", f"{histogram}_sum", f"{histogram}_count"}
    return names


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((REPO / "deploy" / "prometheus" / "longtask-rules.yaml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((REPO / "deploy" / "grafana" / "longtask-dashboard.json").read_text())
    exprs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"expr", "definition"} and isinstance(value, str):
                    exprs.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dashboard)
    return exprs


def unknown(exprs: list[str]) -> set[str]:
    used = {name for expr in exprs for name in METRIC.findall(expr)}
    assert used, "no longtask metric found in the expressions"
    return used - exported()


def test_alert_rules_use_only_exported_metrics() -> None:
    assert unknown(rule_expressions()) == set()


def test_dashboard_uses_only_exported_metrics() -> None:
    assert unknown(dashboard_expressions()) == set()


def test_the_check_catches_a_misspelt_metric() -> None:
    assert unknown(["sum(rate(longtask_task_finished_total[5m]))"]) == {
        "longtask_task_finished_total"
    }


def test_histograms_are_only_used_through_their_series() -> None:
    """A histogram's bare name is no series: queries must use _bucket, _sum or _count."""
    for expr in rule_expressions() + dashboard_expressions():
        for name in METRIC.findall(expr):
            assert name not in metrics.HISTOGRAMS, expr


def test_dashboard_shows_every_exported_metric() -> None:
    used = {name for expr in dashboard_expressions() for name in METRIC.findall(expr)}
    names = {v for k, v in vars(metrics).items() if k.isupper() and isinstance(v, str)}
    for name in names:
        if name in metrics.HISTOGRAMS:
            assert f"{name}_bucket" in used, name
        else:
            assert name in used, name
