"""What an attempt's Job (and, when needed, its pod) says about the attempt.

Only the Job's terminal conditions (`Complete`, `Failed`) end an attempt: the Job controller sets
them after the pod has terminated, so the next attempt never overlaps the previous one. The
earlier `SuccessCriteriaMet` / `FailureTarget` conditions are not enough.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from longtask.core import resource

from . import jobs

# Job condition reasons set by the Job controller.
JOB_DEADLINE_EXCEEDED = "DeadlineExceeded"
JOB_POD_FAILURE_POLICY = "PodFailurePolicy"


class State(enum.StrEnum):
    WAITING = "Waiting"  # the Job exists, its pod does not run yet
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The attempt as observed: its state and, once ended, why and with which exit code."""

    state: State
    reason: resource.Reason | None = None
    exit_code: int | None = None
    message: str = ""

    @property
    def permanent(self) -> bool:
        return self.reason == resource.Reason.PERMANENT_FAILURE


def job_condition(job: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return condition  # type: ignore[no-any-return]
    return None


def pod_exit_code(pod: Mapping[str, Any]) -> int | None:
    """The runner container's exit code, when the pod reports it terminated."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") != jobs.CONTAINER_NAME:
            continue
        terminated = (status.get("state") or {}).get("terminated") or {}
        code = terminated.get("exitCode")
        if isinstance(code, int):
            return code
    return None


def pod_running(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def failure_from_exit_code(code: int | None) -> tuple[resource.Reason, str]:
    if code == resource.ExitCode.PERMANENT:
        return resource.Reason.PERMANENT_FAILURE, "the runner exited 3 (non-retryable)"
    if code is None:
        return resource.Reason.ATTEMPT_FAILED, "the attempt's pod failed (exit code unknown)"
    if code == resource.ExitCode.TERMINATED:
        return resource.Reason.ATTEMPT_FAILED, "the runner was terminated (exit code 143)"
    return resource.Reason.ATTEMPT_FAILED, f"the runner exited {code}"


def judge(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]] | None = None) -> Verdict:
    """The verdict on an attempt from its Job and, if listed, its pods (None = not looked at)."""
    exit_codes = [c for c in (pod_exit_code(p) for p in pods or []) if c is not None]
    exit_code = exit_codes[-1] if exit_codes else None
    if job_condition(job, "Complete") is not None:
        return Verdict(State.SUCCEEDED, resource.Reason.COMPLETED, 0, "the runner exited 0")
    failed = job_condition(job, "Failed")
    if failed is not None:
        job_reason = failed.get("reason")
        if job_reason == JOB_DEADLINE_EXCEEDED:
            return Verdict(
                State.FAILED,
                resource.Reason.DEADLINE_EXCEEDED,
                exit_code,
                str(failed.get("message") or "the attempt ran past spec.timeoutSeconds"),
            )
        if job_reason == JOB_POD_FAILURE_POLICY:
            code = int(resource.ExitCode.PERMANENT)
            reason, message = failure_from_exit_code(code)
            return Verdict(State.FAILED, reason, code, message)
        reason, message = failure_from_exit_code(exit_code)
        return Verdict(State.FAILED, reason, exit_code, message)
    status = job.get("status") or {}
    if (status.get("ready") or 0) > 0 or any(pod_running(p) for p in pods or []):
        return Verdict(State.RUNNING)
    return Verdict(State.WAITING)


def needs_pods(job: Mapping[str, Any]) -> bool:
    """Whether the Job alone cannot tell: a failure whose exit code only the pod knows.

    A running attempt is read from the Job's `ready` count (the attempt's pod has no readiness
    probe, so Ready means its container runs), which the Job watch delivers. Listing pods while
    they wait instead cost one LIST per pending task every 2 s: 500 LIST/s for 1,000 tasks
    waiting for capacity (measured by the admission benchmark)."""
    if job_condition(job, "Complete") is not None:
        return False
    failed = job_condition(job, "Failed")
    if failed is not None:
        return failed.get("reason") not in (JOB_DEADLINE_EXCEEDED, JOB_POD_FAILURE_POLICY)
    return False
