"""Request validation: field-level messages, params size, names, labels."""

from __future__ import annotations

from typing import Any

import pytest
from longtask.core import resource, wire
from pydantic import ValidationError


def fields_of(error: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in error.errors()}


def test_minimal_task_is_valid() -> None:
    created = wire.TaskCreate.model_validate({"task": "pkg.mod:run"})
    assert created.params == {}


def test_exactly_one_of_task_and_command() -> None:
    with pytest.raises(ValidationError, match="exactly one of task and command"):
        wire.TaskCreate.model_validate({})
    with pytest.raises(ValidationError, match="exactly one"):
        wire.TaskCreate.model_validate({"task": "a:b", "command": ["x"]})


def test_params_limit_is_64_kib_of_json() -> None:
    overhead = len('{"x":""}')
    fits = {"x": "a" * (resource.PARAMS_MAX_BYTES - overhead)}
    wire.TaskCreate.model_validate({"task": "a:b", "params": fits})
    with pytest.raises(ValidationError, match="at most 65536") as info:
        wire.TaskCreate.model_validate({"task": "a:b", "params": {"x": fits["x"] + "a"}})
    assert fields_of(info.value) == {"params"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad_Name"}, "name"),
        ({"name": "a" * 64}, "name"),
        ({"generateName": "UPPER-"}, "generateName"),
        ({"labels": {"bad key!": "x"}}, "labels"),
        ({"labels": {"ok": "bad value!"}}, "labels"),
        ({"labels": {"longtask.io/idempotency-key": "x"}}, "labels"),
        ({"timeoutSeconds": 0}, "timeoutSeconds"),
        ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {}}}]}, "env.0.valueFrom"),
        ({"unknown": 1}, "unknown"),
        ({"retry": {"backoff": {"initialSeconds": 10, "maxSeconds": 1}}}, "retry.backoff"),
    ],
)
def test_field_errors_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        wire.TaskCreate.model_validate({"task": "a:b", **body})
    assert field in fields_of(info.value)


def test_name_and_generate_name_are_exclusive() -> None:
    with pytest.raises(ValidationError, match="at most one of name and generateName"):
        wire.TaskCreate.model_validate({"task": "a:b", "name": "a", "generateName": "b-"})


def test_snake_case_in_python_camel_case_on_the_wire() -> None:
    created = wire.TaskCreate(task="a:b", timeout_seconds=5)
    assert created.model_dump(by_alias=True, exclude_none=True)["timeoutSeconds"] == 5


def test_task_list_continue_alias() -> None:
    listing = wire.TaskList.model_validate({"items": [], "continue": "abc"})
    assert listing.continue_ == "abc"
    assert listing.model_dump(by_alias=True)["continue"] == "abc"
