"""Numbers the API server would not store as sent are named, with their path."""

from __future__ import annotations

import math

import pydantic
import pytest
from longtask.core import jsonvalues, wire


def test_finite_numbers_within_int64_pass() -> None:
    value = {"a": [1, 2.5, -(2**63), 2**63 - 1, 1.7976931348623157e308, True, None, "NaN"]}
    assert jsonvalues.problems(value) == []


@pytest.mark.parametrize(
    "bad", [math.nan, math.inf, -math.inf, 2**63, -(2**63) - 1, jsonvalues.BigInt("9" * 30)]
)
def test_unstorable_numbers_are_named_with_their_path(bad: object) -> None:
    found = jsonvalues.problems({"x": [0, {"y": bad}]})
    assert [p.path for p in found] == [("x", 1, "y")]
    assert found[0].where("params") == "params.x[1].y"


def test_loads_keeps_huge_integers_for_the_check() -> None:
    value = jsonvalues.loads('{"n": %s, "m": 12}' % ("7" * 5000))
    assert value["m"] == 12 and isinstance(value["n"], jsonvalues.BigInt)
    assert "5000 digits" in jsonvalues.problems(value)[0].message


def test_a_deeply_nested_value_does_not_exhaust_the_stack() -> None:
    value: object = math.nan
    for _ in range(5_000):  # far deeper than the recursion limit
        value = [value]
    assert len(jsonvalues.problems(value)) == 1


def test_the_client_refuses_non_finite_params_before_sending() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        wire.TaskCreate(command=["x"], params={"a": [math.nan]})
    assert "params.a[0]: NaN is not a JSON number" in str(refused.value)
    with pytest.raises(pydantic.ValidationError):
        wire.TaskCreate.model_validate(
            {"command": ["x"], "retry": {"backoff": {"factor": math.inf}}}
        )
