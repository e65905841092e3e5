"""The LongTask CRD on the real API server: samples apply, invalid tasks are refused with a
message that names the field, and `kubectl explain` prints the descriptions."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from longtask.core import resource
from longtask.devstack.stack import Stack

VALID: dict[str, Any] = {
    "apiVersion": resource.API_VERSION,
    "kind": resource.KIND,
    "metadata": {"name": "valid"},
    "spec": {"command": ["true"]},
}


def spec_with(**fields: Any) -> dict[str, Any]:
    task = copy.deepcopy(VALID)
    task["spec"].update(fields)
    return task


def without_command(**fields: Any) -> dict[str, Any]:
    task = spec_with(**fields)
    del task["spec"]["command"]
    return task


INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "both task and command",
        spec_with(task="mod:fn"),
        "exactly one of spec.task and spec.command",
    ),
    ("neither task nor command", without_command(), "exactly one of spec.task and spec.command"),
    ("params not an object", spec_with(params="text"), "spec.params"),
    ("params a list", spec_with(params=[1, 2]), "spec.params"),
    ("negative timeout", spec_with(timeoutSeconds=-1), "spec.timeoutSeconds"),
    # The gateway refuses it too (422): beyond what a Job's ttlSecondsAfterFinished holds.
    ("ttl beyond int32", spec_with(ttlSecondsAfterFinished=2**31), "spec.ttlSecondsAfterFinished"),
    ("maxAttempts 0", spec_with(retry={"maxAttempts": 0}), "spec.retry.maxAttempts"),
    ("maxAttempts above 100", spec_with(retry={"maxAttempts": 101}), "spec.retry.maxAttempts"),
    (
        "backoff factor below 1",
        spec_with(retry={"backoff": {"factor": 0.5}}),
        "spec.retry.backoff.factor",
    ),
    (
        "negative initial backoff",
        spec_with(retry={"backoff": {"initialSeconds": -1}}),
        "spec.retry.backoff.initialSeconds",
    ),
    (
        "max backoff below initial",
        spec_with(retry={"backoff": {"initialSeconds": 60, "maxSeconds": 10}}),
        "spec.retry.backoff.maxSeconds",
    ),
    (
        "jitter not a boolean",
        spec_with(retry={"backoff": {"jitter": "yes"}}),
        "spec.retry.backoff.jitter",
    ),
    ("unknown spec field", spec_with(replicas=3), 'unknown field "spec.replicas"'),
    (
        "bad cpu quantity",
        spec_with(resources={"requests": {"cpu": "lots"}}),
        "spec.resources.requests.cpu",
    ),
    (
        "bad memory limit",
        spec_with(resources={"limits": {"memory": "1 GB"}}),
        "spec.resources.limits.memory",
    ),
    ("empty command", without_command(command=[]), "spec.command"),
    ("task not module:function", without_command(task="not a callable"), "spec.task"),
    ("stallSeconds too small", spec_with(stallSeconds=1), "spec.stallSeconds"),
    ("env entry without a name", spec_with(env=[{"value": "x"}]), "spec.env[0].name"),
    (
        "bad service account name",
        spec_with(serviceAccountName="Not_Valid"),
        "spec.serviceAccountName",
    ),
    ("cancel not a boolean", spec_with(cancel="please"), "spec.cancel"),
    ("priority out of range", spec_with(priority=5000), "spec.priority"),
    ("negative ttl", spec_with(ttlSecondsAfterFinished=-5), "spec.ttlSecondsAfterFinished"),
]


def over_long_name() -> dict[str, Any]:
    task = copy.deepcopy(VALID)
    task["metadata"]["name"] = "n" * 64
    return task


INVALID.append(("name over 63 characters", over_long_name(), "metadata.name"))


@pytest.fixture
def objects(k8s: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(k8s)


def create(objects: client.CustomObjectsApi, namespace: str, body: dict[str, Any]) -> Any:
    return objects.create_namespaced_custom_object(
        resource.GROUP,
        resource.VERSION,
        namespace,
        resource.PLURAL,
        body,
        field_validation="Strict",
    )


@pytest.mark.parametrize(("case", "body", "field"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_longtask_is_refused_naming_the_field(
    objects: client.CustomObjectsApi, namespace: str, case: str, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApiException) as refused:
        create(objects, namespace, body)
    # 422 for schema violations; 400 for strict decoding (an unknown field).
    assert refused.value.status in (400, 422), refused.value.body
    message = json.loads(str(refused.value.body))["message"]
    assert field in message, f"{case}: {message}"


def test_valid_longtask_is_accepted(objects: client.CustomObjectsApi, namespace: str) -> None:
    created = create(objects, namespace, VALID)
    assert created["spec"] == {"command": ["true"]}


def test_samples_apply(stack: Stack, namespace: str, repo: Path) -> None:
    samples = sorted((repo / "deploy" / "samples").glob("*.yaml"))
    assert len(samples) >= 3
    for sample in samples:
        stack.kubectl("apply", "-n", namespace, "--dry-run=server", "-f", str(sample))
    names = {yaml.safe_load(s.read_text())["metadata"]["name"] for s in samples}
    assert len(names) == len(samples)


def test_kubectl_explain_prints_descriptions(stack: Stack) -> None:
    spec = stack.kubectl("explain", "longtask.spec")
    assert "What to run and how" in spec
    assert "A Python callable inside the runner image" in spec
    backoff = stack.kubectl("explain", "lt.spec.retry.backoff.factor")
    assert "Multiplier per further attempt" in backoff


def test_printer_columns_show_phase_position_progress_attempt_message(
    stack: Stack, objects: client.CustomObjectsApi, namespace: str
) -> None:
    create(objects, namespace, VALID)
    objects.patch_namespaced_custom_object_status(
        resource.GROUP,
        resource.VERSION,
        namespace,
        resource.PLURAL,
        "valid",
        {"status": {"phase": "Running", "progress": 42.5, "attempt": 2, "message": "halfway"}},
    )
    table = stack.kubectl("get", "lt", "valid", "-n", namespace)
    header, row = table.splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "POSITION", "PROGRESS", "ATTEMPT", "MESSAGE", "AGE"]
    # No place outside a queue: kubectl leaves the cell empty.
    assert row.split()[:5] == ["valid", "Running", "42.5", "2", "halfway"]
