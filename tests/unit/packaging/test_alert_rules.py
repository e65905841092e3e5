"""The alert rules pass `promtool check` and their unit tests, every alert is tested firing and
silent, and the chart's PrometheusRule carries the same rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.packaging import REPO, find, render, run

RULES = REPO / "deploy" / "prometheus" / "longtask-rules.yaml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "longtask-rules.test.yaml"
EXPECTED_ALERTS = {
    "LongTaskHighFailureRate",
    "LongTaskDeadLetters",
    "LongTaskStuckPending",
    "LongTaskStalled",
    "LongTaskOperatorDown",
    "LongTaskGatewayDown",
    "LongTaskGatewayErrors",
    "LongTaskSSEClientsDropping",
    "LongTaskHistoryLagging",
    "LongTaskHistoryDeletionsHeld",
    "LongTaskScheduleMissedSlots",
    "LongTaskScheduleFailing",
    "LongTaskQueueWaitTooLong",
}


def alerts(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def test_rules_pass_promtool_check(promtool: Path) -> None:
    done = run([promtool, "check", "rules", RULES])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in done.stdout


def test_rules_pass_their_promtool_unit_tests(promtool: Path) -> None:
    done = run([promtool, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_is_tested_firing_and_silent() -> None:
    defined = alerts(yaml.safe_load(RULES.read_text())["groups"])
    assert set(defined) == EXPECTED_ALERTS
    fired: set[str] = set()
    silent: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    assert fired == EXPECTED_ALERTS
    assert silent == EXPECTED_ALERTS


def test_every_alert_has_a_severity_and_a_description() -> None:
    for name, rule in alerts(yaml.safe_load(RULES.read_text())["groups"]).items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_prometheus_rule_renders_the_same_rules(helm: Path, promtool: Path, tmp_path: Path) -> None:
    source = yaml.safe_load(RULES.read_text())["groups"]
    (rule,) = find(render(helm, sets=["metrics.prometheusRule.enabled=true"]), "PrometheusRule")
    assert rule["spec"]["groups"] == source
    # What the chart renders is itself a valid rule file.
    rendered = tmp_path / "rendered-rules.yaml"
    rendered.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    done = run([promtool, "check", "rules", rendered])
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_rule_leaves_gateway_alerts_out_without_a_gateway(helm: Path) -> None:
    objects = render(helm, sets=["metrics.prometheusRule.enabled=true", "gateway.enabled=false"])
    (rule,) = find(objects, "PrometheusRule")
    names = set(alerts(rule["spec"]["groups"]))
    assert names == {a for a in EXPECTED_ALERTS if "Gateway" not in a and "SSE" not in a}
