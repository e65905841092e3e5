"""Admission: what the CRD schema cannot check, decided before the first Job.

A refused task ends `Failed` with reason `InvalidSpec` and a message naming each problem; it is
never retried (a bad spec stays bad), so a bad task cannot crash-loop the operator.
"""

from __future__ import annotations

import json

from longtask.core import resource, runnerenv

# Variables of the runner contract; a task's own env must not override them.
RESERVED_ENV = frozenset(
    {
        runnerenv.NAMESPACE,
        runnerenv.NAME,
        runnerenv.UID,
        runnerenv.ATTEMPT,
        runnerenv.TASK,
        runnerenv.COMMAND,
        runnerenv.PARAMS,
        runnerenv.REDIS_URL,
    }
)


def params_json(spec: resource.Spec) -> str:
    """`spec.params` as the compact JSON the runner receives (`{}` when absent)."""
    return json.dumps(spec.get("params") or {}, separators=(",", ":"), ensure_ascii=False)


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


def problems(spec: resource.Spec) -> list[str]:
    """Every reason to refuse `spec`, worded for a person; empty when the spec is acceptable."""
    found: list[str] = []
    if ("task" in spec) == ("command" in spec):
        found.append("exactly one of spec.task and spec.command must be set")
    params = spec.get("params")
    if params is not None and not isinstance(params, dict):
        found.append("spec.params must be a JSON object")
    else:
        size = len(params_json(spec).encode())
        if size > resource.PARAMS_MAX_BYTES:
            found.append(
                f"spec.params is {_kib(size)} serialized, more than the limit of "
                f"{_kib(resource.PARAMS_MAX_BYTES)} ({size} > {resource.PARAMS_MAX_BYTES} bytes)"
            )
    command = spec.get("command")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command)
    ):
        found.append("spec.command must be a non-empty list of strings")
    for entry in spec.get("env") or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name in RESERVED_ENV:
            found.append(f"spec.env sets {name}, which the operator reserves for the runner")
    return found


def service_account_problem(name: str, namespace: str, exists: bool) -> str | None:
    if exists:
        return None
    return f"service account {name!r} does not exist in namespace {namespace!r}"
