"""Kueue, when the cluster has it: which LocalQueue an attempt's Job is labelled for, and what
the Job says about Kueue's admission. Pure functions; reconcile.py uses them.

Design choices:
1. Opt-in by LocalQueue name: `LONGTASK_KUEUE_QUEUE` for every task, or a task's own label
   `kueue.x-k8s.io/queue-name` (Kueue's own convention), which wins. Without either the Job is
   created as before and Kueue, configured as usual (`manageJobsWithoutQueueName: false`),
   leaves it alone.
2. The Job is created suspended and labelled for its LocalQueue, so no pod starts before Kueue
   admits it and Kueue's mutating webhook is not needed. Kueue admits by unsuspending the Job;
   the Job controller then says `Suspended=False` and starts the pod.
3. Preemption: Kueue suspends a running Job again and the Job controller stops its pod. The
   task goes back to `Pending` (reason `Preempted`, waiting for Kueue again). Kubernetes 1.36
   (the local control plane) keeps the Job: when Kueue admits it again a new pod runs the same
   attempt from the start (with its last checkpoint). Should the stopped pod count against
   `backoffLimit: 0` instead, the Job fails while suspended: that is not the task's failure, so
   the attempt is recorded with reason `Preempted` and the next one starts at once, without
   backoff and without counting against `retry.maxAttempts`. One Job per attempt either way.
4. Limits are read from the Job's status (its `Suspended` condition), which the operator's Job
   store keeps: no extra read per task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from longtask.core import resource

from .settings import Settings

# Kueue's labels: the LocalQueue of a Job, and its WorkloadPriorityClass.
LABEL_QUEUE_NAME: Final = "kueue.x-k8s.io/queue-name"
LABEL_PRIORITY_CLASS: Final = "kueue.x-k8s.io/priority-class"
# The Job condition the Job controller keeps while `spec.suspend` is true.
JOB_SUSPENDED: Final = "Suspended"


def local_queue(task: resource.LongTask, settings: Settings) -> str | None:
    """The LocalQueue the task's Jobs wait in: its own label, else the operator's setting."""
    labels = task["metadata"].get("labels") or {}
    return labels.get(LABEL_QUEUE_NAME) or settings.kueue_queue or None


def job_labels(task: resource.LongTask, queue: str) -> dict[str, str]:
    """Kueue's labels of an attempt's Job: its LocalQueue and the task's priority class."""
    out = {LABEL_QUEUE_NAME: queue}
    priority = (task["metadata"].get("labels") or {}).get(LABEL_PRIORITY_CLASS)
    if priority:
        out[LABEL_PRIORITY_CLASS] = priority
    return out


def _suspended_condition(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == JOB_SUSPENDED:
            return condition  # type: ignore[no-any-return]
    return None


def suspended(job: Mapping[str, Any]) -> bool:
    """Whether the Job controller says the Job is suspended (not admitted, or preempted)."""
    found = _suspended_condition(job)
    return found is not None and found.get("status") == "True"


def resumed(job: Mapping[str, Any]) -> bool:
    """Whether the Job was suspended and has been resumed (Kueue admitted it)."""
    found = _suspended_condition(job)
    return found is not None and found.get("status") == "False"


def preempted(job: Mapping[str, Any]) -> bool:
    """Whether the Job failed while suspended: its pod was stopped by the suspension (3)."""
    failed = any(
        c.get("type") == "Failed" and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )
    return failed and suspended(job)


def preemptions(records: Sequence[resource.AttemptRecord]) -> int:
    """How many recorded attempts were preempted (they do not count against maxAttempts)."""
    return sum(1 for r in records if r.get("reason") == resource.Reason.PREEMPTED.value)


def waiting_message(queue: str) -> str:
    return f"waiting for Kueue admission in LocalQueue {queue}"
