"""LongTask bodies and views: submit, idempotency, retry, view."""

from __future__ import annotations

from typing import Any

from longtask.api import taskobjects
from longtask.api.settings import Settings
from longtask.core import admission, resource, wire


def create(**body: Any) -> wire.TaskCreate:
    return wire.TaskCreate.model_validate({"task": "m:f", **body})


def test_new_task_uses_generate_name_by_default() -> None:
    obj = taskobjects.new_task("ns", create(labels={"team": "a"}))
    assert obj["metadata"]["generateName"] == taskobjects.DEFAULT_GENERATE_NAME
    assert obj["metadata"]["labels"] == {"team": "a"}
    assert obj["spec"] == {"task": "m:f", "params": {}}


def test_idempotent_submit_derives_the_name_and_labels_the_key() -> None:
    obj = taskobjects.new_task("ns", create(generateName="job-"), "key-1")
    meta = obj["metadata"]
    assert meta["name"].startswith("job-") and "generateName" not in meta
    assert taskobjects.new_task("ns", create(generateName="job-"), "key-1")["metadata"] == meta
    selector = taskobjects.key_selector("key-1")
    label, value = selector.split("=")
    assert meta["labels"][label] == value and len(value) <= 63
    assert "key-1" not in str(obj)  # only hashes are stored


def test_idempotency_match() -> None:
    body = create(params={"a": 1})
    obj = taskobjects.new_task("ns", body, "k")
    assert taskobjects.idempotency_match(obj, "k", taskobjects.request_hash(body)) is True
    other = taskobjects.request_hash(create(params={"a": 2}))
    assert taskobjects.idempotency_match(obj, "k", other) is False
    assert taskobjects.idempotency_match(obj, "other-key", other) is None


def test_request_hash_ignores_key_order() -> None:
    a = create(params={"x": 1, "y": 2})
    b = create(params={"y": 2, "x": 1})
    assert taskobjects.request_hash(a) == taskobjects.request_hash(b)


def test_retry_copies_spec_without_cancel_and_links_the_original() -> None:
    original = {
        "metadata": {
            "name": "demo",
            "namespace": "ns",
            "labels": {"team": "a", resource.LABEL_IDEMPOTENCY: "x"},
            "annotations": {resource.ANNOTATION_REQUEST_HASH: "h", "note": "n"},
        },
        "spec": {"task": "m:f", "cancel": True, "params": {"a": 1}},
        "status": {"phase": "Failed"},
    }
    retry = taskobjects.retry_task(original)
    assert retry["spec"] == {"task": "m:f", "params": {"a": 1}}
    assert retry["metadata"]["labels"] == {"team": "a"}
    assert retry["metadata"]["annotations"] == {
        "note": "n",
        resource.ANNOTATION_RETRY_OF: "demo",
    }
    assert retry["metadata"]["generateName"] == "demo-retry-"


def test_retry_name_prefix_stays_short() -> None:
    long_name = "a" * 63
    retry = taskobjects.retry_task({"metadata": {"name": long_name}, "spec": {}})
    assert len(retry["metadata"]["generateName"]) <= 58


def test_view_of_an_object_without_status() -> None:
    view = taskobjects.task_view(
        {"metadata": {"name": "d", "namespace": "ns", "uid": "u"}, "spec": {"cancel": True}}
    )
    assert view.phase is resource.Phase.PENDING
    assert view.cancel_requested
    assert view.links.events == "/v1/namespaces/ns/tasks/d/events"


def test_problems_found_in_the_cluster_join_the_422() -> None:
    looked_up = [admission.Problem(("serviceAccountName",), "is not marked for longtask use")]
    error = taskobjects.admission_error({"command": ["true"]}, looked_up)
    assert error is not None and error.status == 422
    assert error.details == [
        {
            "field": "body.serviceAccountName",
            "message": "is not marked for longtask use",
            "type": "admission",
        }
    ]
    assert taskobjects.admission_error({"command": ["true"]}) is None


def test_the_gateway_allows_the_operators_images() -> None:
    assert Settings().image_patterns == ("docker.io/longtask/*",)
    listed = Settings(allowed_images="a.io/x/*, b.io/y:1", runner_image="c.io/z/r:1")
    assert listed.image_patterns == ("a.io/x/*", "b.io/y:1")
    assert Settings(runner_image="ghcr.io/longtask/longtask-runner:0.1.0").image_patterns == (
        "ghcr.io/longtask/*",
    )
