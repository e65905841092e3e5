"""Admission checks the schema cannot do, shared by the gateway (422 at submit) and the
operator (InvalidSpec before the first Job)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from longtask.core import admission, runnerenv
from longtask.core.resource import Spec


def messages(spec: dict[str, Any]) -> list[str]:
    return [str(p) for p in admission.problems(spec)]


def test_a_plain_command_task_is_accepted() -> None:
    assert admission.problems({"command": ["true"], "params": {"a": 1}}) == []


def test_params_over_64_kib_are_refused_with_their_size() -> None:
    found = admission.problems({"command": ["true"], "params": {"blob": "x" * 100 * 1024}})
    assert len(found) == 1
    assert found[0].field == ("params",)
    assert "64.0 KiB" in found[0].message and "100.0 KiB" in found[0].message


def test_params_of_exactly_the_limit_pass() -> None:
    overhead = len('{"b":""}')
    spec = Spec(command=["true"], params={"b": "x" * (64 * 1024 - overhead)})
    assert admission.problems(spec) == []


def test_both_or_neither_of_task_and_command_is_refused() -> None:
    assert messages({}) == ["spec: exactly one of spec.task and spec.command must be set"]
    assert admission.problems({"task": "a:b", "command": ["x"]})


@pytest.mark.parametrize(
    "name", [runnerenv.PARAMS, runnerenv.REDIS_URL, runnerenv.GRACE_SECONDS, "LONGTASK_FUTURE"]
)
def test_reserved_env_names_are_refused_with_their_index(name: str) -> None:
    env = [{"name": "OK", "value": "1"}, {"name": name, "value": "x"}]
    found = admission.problems({"command": ["x"], "env": env})
    assert [p.field for p in found] == [("env", 1, "name")]
    assert found[0].spec_field() == "spec.env[1].name"
    assert name in found[0].message and "reserved" in found[0].message


def test_tuning_knobs_may_be_set_by_a_task() -> None:
    env = [{"name": name, "value": "5"} for name in sorted(admission.TASK_TUNABLE_ENV)]
    assert admission.problems({"command": ["x"], "env": env}) == []


def test_missing_service_account_is_named() -> None:
    problem = admission.service_account_problem("sa", "ns", None)
    assert problem is not None and str(problem) == (
        "spec.serviceAccountName: service account 'sa' does not exist in namespace 'ns'"
    )


def test_only_a_service_account_marked_for_longtask_may_run_tasks() -> None:
    assert admission.service_account_problem("sa", "ns", {"longtask.io/runner": "true"}) is None
    for labels in ({}, {"longtask.io/runner": "yes"}, {"app": "reads-secrets"}):
        problem = admission.service_account_problem("sa", "ns", labels)
        assert problem is not None and problem.field == ("serviceAccountName",)
        assert "not marked for longtask use" in problem.message
        assert "kubectl label serviceaccount sa -n ns longtask.io/runner=true" in problem.message


@pytest.mark.parametrize(
    ("image", "full"),
    [
        ("python:3.12", "docker.io/library/python:3.12"),
        ("team/app:1", "docker.io/team/app:1"),
        ("ghcr.io/longtask/longtask-runner:0.1.0", "ghcr.io/longtask/longtask-runner:0.1.0"),
        ("localhost/app", "localhost/app"),
        ("registry:5000/app", "registry:5000/app"),
    ],
)
def test_image_references_are_read_in_full(image: str, full: str) -> None:
    assert admission.image_reference(image) == full


def test_by_default_images_beside_the_runner_image_are_allowed() -> None:
    patterns = admission.default_image_patterns("ghcr.io/longtask/longtask-runner:0.1.0")
    assert patterns == ("ghcr.io/longtask/*",)
    assert admission.default_image_patterns("longtask/runner@sha256:abc") == (
        "docker.io/longtask/*",
    )
    for allowed in (None, "ghcr.io/longtask/longtask-runner:0.2.0", "ghcr.io/longtask/mine:1"):
        assert admission.image_problem(allowed, patterns) is None
    for foreign in ("ghcr.io/evil/runner:1", "ghcr.io/longtaskx/a", "python:3.12", "", 5):
        problem = admission.image_problem(foreign, patterns)
        assert problem is not None and problem.field == ("image",)
        assert "is not an allowed image (allowed: ghcr.io/longtask/*)" in problem.message


def test_image_patterns_match_the_full_reference() -> None:
    patterns = ["docker.io/library/python:3.*", "registry.example.com/team-a/*"]
    assert admission.image_problem("python:3.12", patterns) is None
    assert admission.image_problem("registry.example.com/team-a/job:7", patterns) is None
    assert admission.image_problem("python:2.7", patterns) is not None
    assert admission.image_problem("anything", []) is not None  # no pattern: only the default


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        (3, Decimal(3)),
        ("1Gi", Decimal(2**30)),
        ("1.5k", Decimal(1500)),
        ("1e3", Decimal(1000)),
        ("128974848", Decimal(128974848)),
    ],
)
def test_quantities_parse_as_kubernetes_does(text: str | int, amount: Decimal) -> None:
    assert admission.quantity(text) == amount


def test_requests_above_limits_are_refused() -> None:
    spec = {"command": ["x"], "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1000m"}}}
    assert messages(spec) == ["spec.resources.requests.cpu: must be at most its limit (1000m)"]


def test_requests_equal_to_or_below_limits_pass() -> None:
    resources = {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": 2**30},
    }
    assert admission.problems({"command": ["x"], "resources": resources}) == []


@pytest.mark.parametrize("name", ["gpu", "bogus resource", "kubernetes.io/thing"])
def test_unknown_resource_names_are_refused(name: str) -> None:
    found = admission.problems({"command": ["x"], "resources": {"limits": {name: "1"}}})
    assert [p.field for p in found] == [("resources", "limits", name)]


def test_extended_resources_cannot_be_overcommitted() -> None:
    resources = {"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "2"}}
    found = admission.problems({"command": ["x"], "resources": resources})
    assert [p.field for p in found] == [("resources", "requests", "example.com/gpu")]
    ok = {"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "1"}}
    assert admission.problems({"command": ["x"], "resources": ok}) == []


def test_hugepages_need_cpu_or_memory() -> None:
    pages = {"limits": {"hugepages-2Mi": "4Mi"}, "requests": {"hugepages-2Mi": "4Mi"}}
    assert messages({"command": ["x"], "resources": pages}) == [
        "spec.resources: hugepages need a cpu or memory request or limit"
    ]
    pages["limits"]["memory"] = "1Gi"
    assert admission.problems({"command": ["x"], "resources": pages}) == []


def test_negative_quantities_are_refused() -> None:
    found = admission.problems({"command": ["x"], "resources": {"limits": {"cpu": "-1"}}})
    assert [p.message for p in found] == ["must not be negative"]
