"""The Kubernetes permissions the operator needs (for the chart's ClusterRole / Role), and the
runner's (the ClusterRole the operator binds in each namespace where tasks may run).

Each rule: API group, resources, verbs, and why. `longtasks/finalizers: update` lets the Jobs'
owner references set blockOwnerDeletion (the OwnerReferencesPermissionEnforcement admission plugin
requires it). kopf needs list/watch on CRDs and namespaces to discover the resource and, with
LONGTASK_NAMESPACES empty, to serve every namespace.
"""

from __future__ import annotations

from typing import Final, NotRequired, TypedDict

from .settings import DEFAULT_RUNNER_CLUSTER_ROLE


class Rule(TypedDict):
    apiGroups: list[str]
    resources: list[str]
    verbs: list[str]
    resourceNames: NotRequired[list[str]]


RULES: Final[list[Rule]] = [
    # Watch LongTasks; delete finished ones (ttlSecondsAfterFinished).
    {
        "apiGroups": ["longtask.io"],
        "resources": ["longtasks"],
        "verbs": ["get", "list", "watch", "delete"],
    },
    # Write phase, attempts, conditions. `override` is no API verb: the status admission policy
    # (deploy/admission/) lets accounts holding it write every field of any task's status.
    {
        "apiGroups": ["longtask.io"],
        "resources": ["longtasks/status"],
        "verbs": ["get", "patch", "override"],
    },
    # Owner references with blockOwnerDeletion on the Jobs.
    {"apiGroups": ["longtask.io"], "resources": ["longtasks/finalizers"], "verbs": ["update"]},
    # One Job per attempt; delete it to cancel.
    {
        "apiGroups": ["batch"],
        "resources": ["jobs"],
        "verbs": ["get", "list", "watch", "create", "delete"],
    },
    # Exit codes and Running state of attempt pods.
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    # Admission reads a task's own service account (it must be marked for longtask). The
    # runner's account in each namespace where tasks may run is the operator's: it watches,
    # creates, repairs (patch) and removes it, and the RoleBinding of it to the runner's
    # ClusterRole.
    {
        "apiGroups": [""],
        "resources": ["serviceaccounts"],
        "verbs": ["get", "list", "watch", "create", "patch", "delete"],
    },
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["rolebindings"],
        "verbs": ["list", "watch", "create", "patch", "delete"],
    },
    # Binding that one ClusterRole needs `bind` on it, unless the operator held every right it
    # grants: `bind` keeps the two independent and grants no right itself. (The chart names its
    # own ClusterRole here.)
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["clusterroles"],
        "verbs": ["bind"],
        "resourceNames": [DEFAULT_RUNNER_CLUSTER_ROLE],
    },
    # Each task's Redis URL (its own ACL user), owned by the task; never read back.
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
    # Schedules: watch them; pauseAfterFailures sets spec.suspend.
    {
        "apiGroups": ["longtask.io"],
        "resources": ["longtaskschedules"],
        "verbs": ["get", "list", "watch", "patch"],
    },
    # Write last/next schedule time, active runs, failures, conditions.
    {
        "apiGroups": ["longtask.io"],
        "resources": ["longtaskschedules/status"],
        "verbs": ["get", "patch"],
    },
    # Queues: watch them (limits, suspend) and write their status (running, queued, oldest).
    {
        "apiGroups": ["longtask.io"],
        "resources": ["longtaskqueues"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["longtask.io"],
        "resources": ["longtaskqueues/status"],
        "verbs": ["get", "patch"],
    },
    # Runs: one LongTask per slot (owned by the schedule, blockOwnerDeletion); Replace cancels
    # the active run through spec.cancel.
    {"apiGroups": ["longtask.io"], "resources": ["longtasks"], "verbs": ["create", "patch"]},
    {
        "apiGroups": ["longtask.io"],
        "resources": ["longtaskschedules/finalizers"],
        "verbs": ["update"],
    },
    # Kubernetes Events on LongTasks and schedules (core and events.k8s.io, whichever the
    # cluster serves).
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    # kopf: discover the CRD and the namespaces it serves.
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
]

# Leader election (leadership.py), in the operator's own namespace only: create the Lease (create
# cannot be limited to a name), then read, renew and watch it (a standby sees it released) by
# name.
LEASE_RULES: Final[list[Rule]] = [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "update", "list", "watch"],
    },
]

# The runner's ClusterRole: read its own LongTask (the status admission policy keeps its status
# patches to its own task, from its own pod, on the runner's fields).
RUNNER_RULES: Final[list[Rule]] = [
    {"apiGroups": ["longtask.io"], "resources": ["longtasks"], "verbs": ["get"]},
    {"apiGroups": ["longtask.io"], "resources": ["longtasks/status"], "verbs": ["patch"]},
]
