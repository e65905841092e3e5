"""Pure functions between the gateway's models and LongTask objects (plain dicts).

Builds the object a submit or a retry creates, the idempotency hashes, and the `Task` view of an
object. No I/O: the routers call the API server, these functions shape what goes in and out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, Final

from longtask.core import admission, resource, wire

DEFAULT_GENERATE_NAME: Final = "task-"
# Label values hold at most 63 characters: a 40-hex prefix of the key's SHA-256 (160 bits).
KEY_LABEL_CHARS: Final = 40
# Spec fields copied when a task is re-run (everything but cancel).
_RETRY_DROPPED_SPEC: Final = frozenset({"cancel"})
# Phases a task may be re-run from (as a new task).
RETRYABLE_PHASES: Final = frozenset({resource.Phase.FAILED, resource.Phase.CANCELLED})
# kubectl's copy of the whole object: noise in a view, stale in a retry.
_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"


def key_hash(idempotency_key: str) -> str:
    """SHA-256 hex of an Idempotency-Key (the key itself is never stored)."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


def request_hash(create: wire.TaskCreate) -> str:
    """SHA-256 hex of the canonical JSON of a submit body: same body, same hash."""
    canonical = json.dumps(
        create.model_dump(mode="json", by_alias=True, exclude_none=True),
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_selector(idempotency_key: str) -> str:
    """Label selector of the task created with this Idempotency-Key."""
    return f"{resource.LABEL_IDEMPOTENCY}={key_hash(idempotency_key)[:KEY_LABEL_CHARS]}"


def spec_of(fields: wire.TaskSpecFields) -> dict[str, Any]:
    """The LongTask spec (camelCase) of a request, without unset or empty optional fields."""
    spec = fields.model_dump(
        mode="json",
        by_alias=True,
        exclude_none=True,
        include=set(wire.TaskSpecFields.model_fields),
    )
    if not spec.get("env"):
        spec.pop("env", None)
    return spec


def admission_error(
    spec: dict[str, Any], looked_up: Sequence[admission.Problem] = ()
) -> wire.ApiError | None:
    """The 422 for a spec the operator would refuse (core's admission, and the problems found by
    looking the cluster up: see `tenancy`), naming each field as pydantic does for the checks of
    the request model (`body.env.2.name`)."""
    found = [*admission.problems(spec), *looked_up]
    if not found:
        return None
    details = [
        {
            "field": ".".join(str(part) for part in ("body", *problem.field)),
            "message": problem.message,
            "type": "admission",
        }
        for problem in found
    ]
    summary = f"{details[0]['field']}: {details[0]['message']}"
    if len(details) > 1:
        summary += f" (and {len(details) - 1} more)"
    return wire.ApiError(422, "invalid", summary, details)


def new_task(
    namespace: str,
    create: wire.TaskCreate,
    idempotency_key: str | None = None,
    looked_up: Sequence[admission.Problem] = (),
) -> dict[str, Any]:
    """The LongTask object a submit creates; raises the 422 of `admission_error` for a spec
    the operator would refuse.

    With an Idempotency-Key and no explicit name, the name is derived from the key, so that two
    concurrent requests with the same key collide on the name instead of creating two tasks.
    """
    metadata: dict[str, Any] = {
        "namespace": namespace,
        "labels": dict(create.labels),
        "annotations": dict(create.annotations),
    }
    if idempotency_key is not None:
        digest = key_hash(idempotency_key)
        metadata["labels"][resource.LABEL_IDEMPOTENCY] = digest[:KEY_LABEL_CHARS]
        metadata["annotations"][resource.ANNOTATION_IDEMPOTENCY] = digest
        metadata["annotations"][resource.ANNOTATION_REQUEST_HASH] = request_hash(create)
    if create.name is not None:
        metadata["name"] = create.name
    elif idempotency_key is not None:
        prefix = create.generate_name or DEFAULT_GENERATE_NAME
        metadata["name"] = prefix + key_hash(idempotency_key)[:10]
    else:
        metadata["generateName"] = create.generate_name or DEFAULT_GENERATE_NAME
    spec = spec_of(create)
    if (refused := admission_error(spec, looked_up)) is not None:
        raise refused
    return {
        "apiVersion": resource.API_VERSION,
        "kind": resource.KIND,
        "metadata": metadata,
        "spec": spec,
    }


def idempotency_match(obj: dict[str, Any], idempotency_key: str, body_hash: str) -> bool | None:
    """None when `obj` was not created with this key; else whether it was with this body."""
    annotations = obj.get("metadata", {}).get("annotations") or {}
    if annotations.get(resource.ANNOTATION_IDEMPOTENCY) != key_hash(idempotency_key):
        return None
    return bool(annotations.get(resource.ANNOTATION_REQUEST_HASH) == body_hash)


def retry_task(obj: dict[str, Any]) -> dict[str, Any]:
    """A new LongTask re-running `obj` with the same spec, labels, linked by annotation."""
    meta = obj.get("metadata", {})
    name = str(meta.get("name", "task"))
    labels = {
        k: v
        for k, v in (meta.get("labels") or {}).items()
        if not k.startswith(wire.RESERVED_PREFIX)
    }
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith(wire.RESERVED_PREFIX) and k != _LAST_APPLIED
    }
    annotations[resource.ANNOTATION_RETRY_OF] = name
    spec = {k: v for k, v in (obj.get("spec") or {}).items() if k not in _RETRY_DROPPED_SPEC}
    # Keep the generated name a valid name: prefix at most 58 characters, ending with "-".
    prefix = name[:50].rstrip("-") + "-retry-"
    return {
        "apiVersion": resource.API_VERSION,
        "kind": resource.KIND,
        "metadata": {
            "namespace": meta.get("namespace"),
            "generateName": prefix,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }


def phase_of(obj: dict[str, Any]) -> resource.Phase:
    """The task's phase; Pending until the operator wrote one."""
    raw = (obj.get("status") or {}).get("phase")
    try:
        return resource.Phase(str(raw))
    except ValueError:
        return resource.Phase.PENDING


def result_path(namespace: str, name: str) -> str:
    """Where the gateway answers a task's result (`GET`)."""
    return f"/v1/namespaces/{namespace}/tasks/{name}/result"


def list_filter(
    phase: resource.Phase | None, name_contains: str | None
) -> Callable[[dict[str, Any]], bool] | None:
    """The check of a listed object against the filters the API server cannot apply; None when
    there are none."""
    if phase is None and not name_contains:
        return None

    def keep(obj: dict[str, Any]) -> bool:
        name = str((obj.get("metadata") or {}).get("name", ""))
        return (phase is None or phase_of(obj) is phase) and (
            not name_contains or name_contains in name
        )

    return keep


def links(namespace: str, name: str) -> wire.Links:
    base = f"/v1/namespaces/{namespace}/tasks/{name}"
    return wire.Links.model_validate(
        {
            "self": base,
            "events": f"{base}/events",
            "logs": f"{base}/logs",
            "cancel": f"{base}/cancel",
            "retry": f"{base}/retry",
            "streamToken": f"{base}/stream-token",
            "result": result_path(namespace, name),
        }
    )


def task_view(obj: dict[str, Any]) -> wire.Task:
    """The `Task` the API returns for a LongTask object."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    annotations = meta.get("annotations") or {}
    view_annotations = {k: v for k, v in annotations.items() if k != _LAST_APPLIED}
    return wire.Task.model_validate(
        {
            "namespace": namespace,
            "name": name,
            "uid": meta.get("uid", ""),
            "phase": phase_of(obj),
            "progress": status.get("progress"),
            "message": status.get("message"),
            "attempt": status.get("attempt"),
            "reason": status.get("reason"),
            "createdAt": meta.get("creationTimestamp"),
            "startTime": status.get("startTime"),
            "completionTime": status.get("completionTime"),
            "nextAttemptTime": status.get("nextAttemptTime"),
            "cancelRequested": bool(spec.get("cancel", False)),
            "retryOf": annotations.get(resource.ANNOTATION_RETRY_OF),
            "labels": meta.get("labels") or {},
            "annotations": view_annotations,
            "spec": spec,
            "result": status.get("result"),
            "resultRef": status.get("resultRef"),
            "conditions": status.get("conditions") or [],
            "attempts": status.get("attempts") or [],
            "queuePosition": status.get("queuePosition"),
            "links": links(namespace, name),
        }
    )
