"""Admission checks the schema cannot do."""

from __future__ import annotations

from longtask.core import runnerenv
from longtask.core.resource import Spec
from longtask.operator import admission


def test_a_plain_command_task_is_accepted() -> None:
    assert admission.problems({"command": ["true"], "params": {"a": 1}}) == []


def test_params_over_64_kib_are_refused_with_their_size() -> None:
    found = admission.problems({"command": ["true"], "params": {"blob": "x" * 100 * 1024}})
    assert len(found) == 1
    assert "spec.params" in found[0] and "64.0 KiB" in found[0] and "100.0 KiB" in found[0]


def test_params_of_exactly_the_limit_pass() -> None:
    overhead = len('{"b":""}')
    spec = Spec(command=["true"], params={"b": "x" * (64 * 1024 - overhead)})
    assert admission.problems(spec) == []


def test_both_or_neither_of_task_and_command_is_refused() -> None:
    assert admission.problems({}) == ["exactly one of spec.task and spec.command must be set"]
    assert admission.problems({"task": "a:b", "command": ["x"]})


def test_reserved_env_names_are_refused() -> None:
    found = admission.problems({"command": ["x"], "env": [{"name": runnerenv.PARAMS}]})
    assert found == [
        f"spec.env sets {runnerenv.PARAMS}, which the operator reserves for the runner"
    ]


def test_missing_service_account_is_named() -> None:
    assert admission.service_account_problem("sa", "ns", True) is None
    assert admission.service_account_problem("sa", "ns", False) == (
        "service account 'sa' does not exist in namespace 'ns'"
    )
