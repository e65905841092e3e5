"""The typed shape of a LongTask (core.resource) against the CRD's schema.

The API server prunes undeclared fields silently, so a field the code types (and therefore may
write) but the CRD does not declare would be lost without an error; a declared field nobody
types is a contract the code ignores. Both directions fail here, as do mismatched JSON types.
The operator and the runner write the status through these types (mypy checks every key); the
gateway writes the spec from its wire models, whose fields must be typed too.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pydantic
import pytest
from longtask.core import resource, wire
from pydantic.alias_generators import to_camel

from tests.fixtures import crdschema
from tests.fixtures.crdschema import object_drift, required_keys

CRD = Path(__file__).parents[3] / "deploy/crds/longtask.io_longtasks.yaml"


def crd_schema() -> dict[str, Any]:
    return crdschema.crd_schema(CRD, resource.VERSION)


def test_spec_and_status_types_match_the_crd() -> None:
    properties = crd_schema()["properties"]
    assert object_drift(resource.Spec, properties["spec"], "spec") == []
    assert object_drift(resource.Status, properties["status"], "status") == []


def test_the_object_types_its_top_level_fields() -> None:
    schema = crd_schema()
    hints = typing.get_type_hints(resource.LongTask)
    assert hints.keys() == schema["properties"].keys()
    assert set(schema["required"]) <= required_keys(resource.LongTask)


def test_optional_keys_are_told_apart() -> None:
    assert required_keys(resource.Condition) == {"type", "status"}
    assert required_keys(resource.Status) == set()


def test_enumerations_match_the_crd() -> None:
    status = crd_schema()["properties"]["status"]["properties"]
    assert status["phase"]["enum"] == [p.value for p in resource.Phase]
    condition = status["conditions"]["items"]["properties"]
    assert condition["status"]["enum"] == ["True", "False", "Unknown"]


def model_drift(model: type[pydantic.BaseModel], typed: Any, path: str) -> list[str]:
    """Fields of a gateway wire model (by their camelCase names) that the typed shape lacks."""
    hints = typing.get_type_hints(typed)
    found = []
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if alias not in hints:
            found.append(f"{path}.{alias}: in the wire model but not typed")
            continue
        inner_model = innermost(field.annotation, lambda a: issubclass(a, pydantic.BaseModel))
        inner_typed = innermost(hints[alias], typing.is_typeddict)
        if inner_model is not None and inner_typed is not None:
            found += model_drift(inner_model, inner_typed, f"{path}.{alias}")
    return found


def innermost(annotation: Any, wanted: Any) -> Any:
    """The first class inside `annotation` (a union, a list, …) for which `wanted` holds."""
    if isinstance(annotation, type) and wanted(annotation):
        return annotation
    for arg in typing.get_args(annotation):
        found = innermost(arg, wanted)
        if found is not None:
            return found
    return None


def test_the_spec_the_gateway_writes_is_typed() -> None:
    assert model_drift(wire.TaskSpecFields, resource.Spec, "spec") == []


def test_the_status_fields_the_gateway_shows_are_typed() -> None:
    assert model_drift(wire.AttemptStatus, resource.AttemptRecord, "attempts[]") == []
    assert model_drift(wire.Condition, resource.Condition, "conditions[]") == []


# The checks themselves: they must notice each kind of drift.


class _Retry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(alias_generator=to_camel)
    max_attempts: int
    give_up_after_seconds: int  # not in the spec


class _SpecFields(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(alias_generator=to_camel)
    timeout_seconds: int
    retry: _Retry | None = None


def test_the_wire_check_notices_an_untyped_nested_field() -> None:
    assert model_drift(_SpecFields, resource.Spec, "spec") == [
        "spec.retry.giveUpAfterSeconds: in the wire model but not typed"
    ]


class _Attempt(TypedDict, total=False):
    number: str  # declared integer
    jobName: str


class _Status(TypedDict, total=False):
    phase: str
    queueRank: int  # not declared: the API server would prune it
    attempts: list[_Attempt]
    result: Any


class _Condition(TypedDict):
    type: str
    status: NotRequired[str]  # required by the schema


@pytest.mark.parametrize(
    ("typed", "node", "expected"),
    [
        (_Status, "status", "status.queueRank: typed but not declared (pruned)"),
        (_Status, "status", "status.attempts[].number: typed str, declared integer"),
        (_Status, "status", "status.progress: declared but not typed"),
        (_Condition, "condition", "condition.status: required by the schema, optional in the type"),
    ],
)
def test_the_check_notices_drift(typed: Any, node: str, expected: str) -> None:
    status = crd_schema()["properties"]["status"]
    schema = status if node == "status" else status["properties"]["conditions"]["items"]
    assert expected in object_drift(typed, schema, node)
