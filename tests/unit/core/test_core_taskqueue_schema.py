"""The typed shape of a LongTaskQueue (core.taskqueue) against its CRD, and the keys of tasks."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from longtask.core import resource, taskqueue

from tests.fixtures import crdschema
from tests.fixtures.crdschema import object_drift, required_keys

REPO = Path(__file__).parents[3]
CRD = REPO / "deploy/crds/longtask.io_longtaskqueues.yaml"
LONGTASK_CRD = REPO / "deploy/crds/longtask.io_longtasks.yaml"


def crd_schema() -> dict[str, Any]:
    return crdschema.crd_schema(CRD, taskqueue.VERSION)


def test_spec_and_status_types_match_the_crd() -> None:
    properties = crd_schema()["properties"]
    assert object_drift(taskqueue.QueueSpec, properties["spec"], "spec") == []
    assert object_drift(taskqueue.QueueStatus, properties["status"], "status") == []


def test_the_object_types_its_top_level_fields() -> None:
    schema = crd_schema()
    hints = typing.get_type_hints(taskqueue.LongTaskQueue)
    assert hints.keys() == schema["properties"].keys()
    assert set(schema["required"]) <= required_keys(taskqueue.LongTaskQueue)


def test_limits_match_the_crd() -> None:
    spec = crd_schema()["properties"]["spec"]["properties"]
    assert spec["maxRunning"]["maximum"] == taskqueue.MAX_RUNNING_LIMIT
    period = spec["rateLimit"]["properties"]["periodSeconds"]
    assert period["maximum"] == taskqueue.RATE_PERIOD_MAX_SECONDS


def test_the_longtask_phase_enum_lists_every_phase_with_queued() -> None:
    status = crdschema.crd_schema(LONGTASK_CRD, resource.VERSION)["properties"]["status"]
    assert status["properties"]["phase"]["enum"] == [p.value for p in resource.Phase]
    assert "Queued" in status["properties"]["phase"]["enum"]


def task(labels: dict[str, str] | None = None, params: dict[str, Any] | None = None) -> Any:
    return {"metadata": {"name": "t", "labels": labels or {}}, "spec": {"params": params or {}}}


def test_a_task_s_key_comes_from_its_label_or_its_param() -> None:
    by_label = taskqueue.QueueSpec(concurrencyKey={"label": "tenant"})
    by_param = taskqueue.QueueSpec(concurrencyKey={"param": "user"})
    assert taskqueue.task_key(task({"tenant": "a"}), by_label) == "a"
    assert taskqueue.task_key(task(), by_label) == ""
    assert taskqueue.task_key(task(params={"user": "bob"}), by_param) == "bob"
    assert taskqueue.task_key(task(params={"user": {"id": 7}}), by_param) == '{"id": 7}'
    assert taskqueue.task_key(task(params={}), by_param) == ""
    assert taskqueue.task_key(task({"tenant": "a"}), taskqueue.QueueSpec(maxRunning=3)) is None


def test_a_key_label_is_the_key_or_a_hash_of_it() -> None:
    assert taskqueue.key_label("team-a") == "team-a"
    hashed = taskqueue.key_label('{"id": 7}')
    assert hashed.startswith("h") and len(hashed) == 33
    assert taskqueue.key_label("x" * 64) != taskqueue.key_label("x" * 65)
