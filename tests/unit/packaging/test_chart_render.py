"""The chart lints clean, its values schema refuses bad values, every value is commented, and
every object it renders validates against the Kubernetes 1.36 schemas."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.fixtures.packaging import CHART, KUBE_VERSION, VALUES_FILES, find, run, template

# prometheus-operator kinds have no upstream schema; their content is checked by promtool
# (tests/unit/packaging/test_alert_rules.py) and by test_chart_objects.py.
NO_UPSTREAM_SCHEMA = {"ServiceMonitor", "PrometheusRule"}


@pytest.mark.parametrize("values", VALUES_FILES)
def test_helm_lint_is_clean(helm: Path, values: str) -> None:
    path = VALUES_FILES[values]
    argv: list[str | Path] = [helm, "lint", CHART, "--strict"]
    if path is not None:
        argv += ["-f", path]
    done = run(argv)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout and "[ERROR]" not in done.stdout, done.stdout


@pytest.mark.parametrize("values", VALUES_FILES)
def test_rendered_objects_validate_against_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]], values: str
) -> None:
    objects = rendered[values]
    assert len(objects) > 5
    for obj in objects:
        if obj["kind"] in NO_UPSTREAM_SCHEMA:
            assert obj["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_schema_validation_catches_a_broken_object(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """The validation above can fail: an unknown field and a wrong type are refused."""
    deployment = copy.deepcopy(find(rendered["default"], "Deployment")[0])
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)
    deployment = copy.deepcopy(find(rendered["default"], "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("operatr.metricsPort=8080", "additional properties 'operatr'"),
        ("gateway.auth.mode=open", "/gateway/auth/mode"),
        ("gateway.replicas=-1", "/gateway/replicas"),
        ("redis.url=http://redis:6379", "/redis/url"),
        ("watchNamespaces[0]=Not_A_Namespace", "/watchNamespaces/0"),
    ],
)
def test_values_schema_refuses_bad_values(helm: Path, value: str, complaint: str) -> None:
    done = template(helm, sets=[value])
    assert done.returncode != 0
    assert complaint in done.stderr


def test_apikey_mode_requires_its_secret(helm: Path) -> None:
    done = template(helm, sets=["gateway.auth.mode=apikey"])
    assert done.returncode != 0
    assert "gateway.auth.apiKeySecret.name is required" in done.stderr


KEY = re.compile(r"^(?P<indent> *)(?:- )?(?P<key>[A-Za-z][\w.-]*):(?P<rest>.*)$")


def uncommented_values(text: str) -> list[str]:
    """Keys of a values file that neither they nor an enclosing key have a comment above."""
    missing: list[str] = []
    # (indent, path, commented) of the enclosing keys.
    stack: list[tuple[int, str, bool]] = []
    previous = ""
    for line in text.splitlines():
        match = KEY.match(line)
        if match:
            indent = len(match["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            path = ".".join([s[1] for s in stack] + [match["key"]])
            commented = previous.lstrip().startswith("#") or any(s[2] for s in stack)
            is_leaf = match["rest"].strip() != ""
            if is_leaf and not commented:
                missing.append(path)
            stack.append((indent, match["key"], commented))
        if line.strip():
            previous = line
    return missing


def test_every_value_is_commented() -> None:
    assert uncommented_values((CHART / "values.yaml").read_text()) == []


def test_comment_check_finds_an_uncommented_value() -> None:
    text = "a:\n  # -- described\n  b: 1\n  c: 2\nd:\n  # -- all of e\n  e:\n    f: 1\n"
    assert uncommented_values(text) == ["a.c"]
