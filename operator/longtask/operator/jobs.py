"""The Job of one attempt, and the Secret of the task's Redis credentials, built by pure
functions from the LongTask.

Names are deterministic per (task, attempt): a restarted operator that creates the Job again gets
AlreadyExists instead of a second Job. A name that would pass 57 characters is truncated and keeps
uniqueness with a short hash of the full name: the Job controller names pods `<job>-` plus 5
random characters, and the API server truncates that prefix to 58 characters, so at most 57 keep
every pod's name exactly the Job's name, a dash and 5 characters. The admission policy on
`longtasks/status` (deploy/admission/) relies on that to tell an attempt's pods from any other.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from longtask.core import admission, redisurls, resource, runnerenv, taskqueue

from . import credentials
from .settings import Settings

NAME_MAX = 57
CONTAINER_NAME = "runner"
RUNNER_COMMAND = ["longtask-runner"]
# The non-root user of the runner image (distroless "nonroot").
RUNNER_UID = 65532
SCRATCH_VOLUME = "scratch"


def job_name(task_name: str, attempt: int) -> str:
    """`<task>-<attempt>`, or a truncated task name plus a hash when that passes 63 chars."""
    suffix = f"-{attempt}"
    full = f"{task_name}{suffix}"
    if len(full) <= NAME_MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    keep = NAME_MAX - len(suffix) - len(digest) - 1
    return f"{task_name[:keep].rstrip('-.')}-{digest}{suffix}"


def service_account(spec: resource.Spec, settings: Settings) -> str:
    return str(spec.get("serviceAccountName") or settings.runner_service_account)


def labels(task: resource.LongTask, attempt: int) -> dict[str, str]:
    meta = task["metadata"]
    return {
        resource.LABEL_NAME: meta["name"],
        resource.LABEL_UID: meta["uid"],
        resource.LABEL_ATTEMPT: str(attempt),
        resource.LABEL_MANAGED_BY: resource.MANAGED_BY,
    }


def queue_labels(queue: str, key: str | None) -> dict[str, str]:
    """The labels that count a Job against its queue's limits (and its key's)."""
    out = {taskqueue.LABEL_QUEUE: queue}
    if key is not None:
        out[taskqueue.LABEL_QUEUE_KEY] = taskqueue.key_label(key)
    return out


def owner_reference(task: resource.LongTask) -> dict[str, Any]:
    meta = task["metadata"]
    return {
        "apiVersion": resource.API_VERSION,
        "kind": resource.KIND,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def runner_env(task: resource.LongTask, attempt: int, settings: Settings) -> list[dict[str, Any]]:
    """The contract's environment first, then the task's own variables (reserved names dropped)."""
    meta, spec = task["metadata"], task["spec"]
    env: list[dict[str, Any]] = [
        {"name": runnerenv.NAMESPACE, "value": meta["namespace"]},
        {"name": runnerenv.NAME, "value": meta["name"]},
        {"name": runnerenv.UID, "value": meta["uid"]},
        {"name": runnerenv.ATTEMPT, "value": str(attempt)},
    ]
    if "command" in spec:
        env.append({"name": runnerenv.COMMAND, "value": json.dumps(list(spec["command"]))})
    else:
        env.append({"name": runnerenv.TASK, "value": str(spec["task"])})
    env.append({"name": runnerenv.PARAMS, "value": admission.params_json(spec)})
    if settings.task_users and settings.runner_redis_url:
        # The task's own credentials, from its Secret (see build_redis_secret).
        ref = {"name": credentials.secret_name(meta["uid"]), "key": credentials.URL_KEY}
        env.append({"name": runnerenv.REDIS_URL, "valueFrom": {"secretKeyRef": ref}})
    elif settings.runner_redis_url:
        env.append({"name": runnerenv.REDIS_URL, "value": settings.runner_redis_url})
    for name, value in (
        (runnerenv.EVENTS_MAXLEN, settings.events_maxlen),
        (runnerenv.LOGS_MAXLEN, settings.logs_maxlen),
        (runnerenv.LOG_LINE_MAX_CHARS, settings.log_line_max_chars),
        (runnerenv.OUTPUT_CHUNK_MAX_BYTES, settings.output_limits.chunk_max_bytes),
        (runnerenv.OUTPUT_MAX_BYTES, settings.output_limits.output_max_bytes),
        (runnerenv.OUTPUT_MAX_CHUNKS, settings.output_limits.output_max_chunks),
    ):
        env.append({"name": name, "value": str(value)})
    # The runner finishes within the pod's grace period after SIGTERM.
    grace = max(1, settings.termination_grace_seconds - 5)
    env.append({"name": runnerenv.GRACE_SECONDS, "value": str(grace)})
    for entry in spec.get("env") or []:
        if isinstance(entry, dict) and not admission.reserved_env(entry.get("name")):
            env.append(dict(entry))
    return env


def build_job(
    task: resource.LongTask,
    attempt: int,
    settings: Settings,
    extra_labels: dict[str, str] | None = None,
    suspend: bool = False,
) -> dict[str, Any]:
    """The Job manifest of attempt `attempt` (1-based) of `task`; `extra_labels` on the Job only
    (its queue's, see queue_labels, and Kueue's); `suspend` creates it suspended, for Kueue to
    admit (see kueue.py)."""
    meta, spec = task["metadata"], task["spec"]
    job_labels = labels(task, attempt)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": spec.get("image") or settings.runner_image,
        "imagePullPolicy": "IfNotPresent",
        "command": list(RUNNER_COMMAND),
        "env": runner_env(task, attempt, settings),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUNNER_UID,
            "runAsGroup": RUNNER_UID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": SCRATCH_VOLUME, "mountPath": "/tmp"}],
    }
    if spec.get("resources"):
        container["resources"] = dict(spec["resources"])
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": settings.job_ttl_seconds,
        # Exit code 3 is the runner's "do not retry": the Job says so in its Failed reason
        # (PodFailurePolicy), which keeps the verdict even when the pod is already gone.
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": CONTAINER_NAME,
                        "operator": "In",
                        "values": [int(resource.ExitCode.PERMANENT)],
                    },
                }
            ]
        },
        "template": {
            "metadata": {"labels": dict(job_labels)},
            "spec": {
                "restartPolicy": "Never",
                "serviceAccountName": service_account(spec, settings),
                "automountServiceAccountToken": True,
                "terminationGracePeriodSeconds": settings.termination_grace_seconds,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": RUNNER_UID,
                    "runAsGroup": RUNNER_UID,
                    "fsGroup": RUNNER_UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [container],
                "volumes": [{"name": SCRATCH_VOLUME, "emptyDir": {"sizeLimit": "1Gi"}}],
            },
        },
    }
    if suspend:
        job_spec["suspend"] = True
    if spec.get("timeoutSeconds"):
        job_spec["activeDeadlineSeconds"] = int(spec["timeoutSeconds"])
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(meta["name"], attempt),
            "namespace": meta["namespace"],
            "labels": job_labels | (extra_labels or {}),
            "ownerReferences": [owner_reference(task)],
        },
        "spec": job_spec,
    }


def build_redis_secret(task: resource.LongTask, settings: Settings) -> dict[str, Any]:
    """The Secret holding the task's Redis URL with the credentials of its own user; owned by
    the task, immutable (its content is derived from the UID, see `credentials`)."""
    meta = task["metadata"]
    secret = credentials.password(settings.redis_task_key, meta["uid"])
    url = redisurls.with_credentials(settings.runner_redis_url, credentials.username(task), secret)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": credentials.secret_name(meta["uid"]),
            "namespace": meta["namespace"],
            "labels": {
                resource.LABEL_NAME: meta["name"],
                resource.LABEL_UID: meta["uid"],
                resource.LABEL_MANAGED_BY: resource.MANAGED_BY,
            },
            "ownerReferences": [owner_reference(task)],
        },
        "type": "Opaque",
        "immutable": True,
        "stringData": {credentials.URL_KEY: url},
    }
