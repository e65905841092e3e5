"""The runner's account in each namespace where tasks may run: what it is, and the steps to it.

In every served namespace its selector chooses (all by default), the operator keeps a
ServiceAccount marked for longtask use (`longtask.io/runner: "true"`) and a RoleBinding of it to
the runner's ClusterRole (get longtasks, patch longtasks/status), so that the first LongTask of
a new namespace just runs. Pure functions here; `provisioner.py` watches and acts.

Design choices:
1. One ClusterRole (shipped by the chart, applied by the local stack), bound per namespace: the
   runner's rules live in one place, and the operator needs `create` on RoleBindings and `bind`
   on that one ClusterRole rather than every right it grants, or rights to write Roles.
2. Level-triggered: the steps follow from what exists now, so a changed or deleted account or
   binding is put back, and a restarted operator simply plans again.
3. A namespace no longer selected loses what the operator made there, once none of its tasks
   is running (an attempt's pod authenticates as the account: deleting it would cut the pod's
   status patches). An account of that name someone else made is adopted (marked), never
   deleted; the RoleBinding of that name is the operator's.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Final

from longtask.core import resource

from .settings import Settings

SERVICE_ACCOUNT: Final = "ServiceAccount"
ROLE_BINDING: Final = "RoleBinding"
RBAC_GROUP: Final = "rbac.authorization.k8s.io"
# A namespace that is no longer selected but still runs tasks is looked at again after this.
BUSY_RETRY_SECONDS: Final = 30.0
# Labels of what the operator makes (the mark of the account is added where it is needed).
LABELS: Final = {
    resource.LABEL_MANAGED_BY: resource.MANAGED_BY,
    "app.kubernetes.io/part-of": "longtask",
    "app.kubernetes.io/component": "runner",
}


class Verb(enum.StrEnum):
    CREATE = "create"
    PATCH = "patch"
    DELETE = "delete"


@dataclasses.dataclass(frozen=True)
class Step:
    """One write: create `body`, merge-patch with `body`, or delete (no body)."""

    verb: Verb
    kind: str
    namespace: str
    name: str
    body: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...] = ()
    retry_after: float | None = None
    """Look again after this many seconds (waiting for the namespace's tasks to end)."""


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector (a LabelSelector as a dict; None: everything) matches."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False  # unknown: select nothing rather than too much
    return True


def enable_hint(namespace: str, selector: Mapping[str, Any]) -> str:
    """How an admin enables `namespace` for a selector: the command when it is plain labels."""
    match = selector.get("matchLabels") or {}
    if match and not selector.get("matchExpressions"):
        labels = " ".join(f"{k}={v}" for k, v in sorted(match.items()))
        return f"`kubectl label namespace {namespace} {labels}`"
    return f"labels matching the operator's namespace selector {dict(selector)}"


def account(namespace: str, settings: Settings) -> dict[str, Any]:
    """The runner's ServiceAccount in `namespace`, marked for longtask use."""
    return {
        "apiVersion": "v1",
        "kind": SERVICE_ACCOUNT,
        "metadata": {
            "name": settings.runner_service_account,
            "namespace": namespace,
            "labels": {**LABELS, resource.LABEL_RUNNER: resource.RUNNER_MARK},
        },
    }


def binding(namespace: str, settings: Settings) -> dict[str, Any]:
    """The RoleBinding granting the runner's ClusterRole to its account in `namespace`."""
    name = settings.runner_service_account
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": ROLE_BINDING,
        "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)},
        "roleRef": {
            "apiGroup": RBAC_GROUP,
            "kind": "ClusterRole",
            "name": settings.runner_cluster_role,
        },
        "subjects": [{"kind": SERVICE_ACCOUNT, "name": name, "namespace": namespace}],
    }


def _labels(obj: Mapping[str, Any] | None) -> Mapping[str, str]:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def made_by_operator(obj: Mapping[str, Any] | None) -> bool:
    return _labels(obj).get(resource.LABEL_MANAGED_BY) == resource.MANAGED_BY


def plan(
    namespace: str,
    selected: bool,
    found_account: Mapping[str, Any] | None,
    found_binding: Mapping[str, Any] | None,
    busy: bool,
    settings: Settings,
) -> Plan:
    """The writes that bring `namespace` to what its selection asks: the runner's account and
    binding where tasks may run, none of the operator's where they may not."""
    name = settings.runner_service_account
    if not selected:
        ours = [
            (kind, found)
            for kind, found in ((ROLE_BINDING, found_binding), (SERVICE_ACCOUNT, found_account))
            if found is not None and made_by_operator(found)
        ]
        if not ours:
            return Plan()
        if busy:
            return Plan(retry_after=BUSY_RETRY_SECONDS)
        return Plan(tuple(Step(Verb.DELETE, kind, namespace, name) for kind, _ in ours))
    steps: list[Step] = []
    if found_account is None:
        steps.append(
            Step(Verb.CREATE, SERVICE_ACCOUNT, namespace, name, account(namespace, settings))
        )
    elif _labels(found_account).get(resource.LABEL_RUNNER) != resource.RUNNER_MARK:
        mark = {"metadata": {"labels": {resource.LABEL_RUNNER: resource.RUNNER_MARK}}}
        steps.append(Step(Verb.PATCH, SERVICE_ACCOUNT, namespace, name, mark))
    wanted = binding(namespace, settings)
    if found_binding is None:
        steps.append(Step(Verb.CREATE, ROLE_BINDING, namespace, name, wanted))
    elif found_binding.get("roleRef") != wanted["roleRef"]:  # immutable: replaced
        steps.append(Step(Verb.DELETE, ROLE_BINDING, namespace, name))
        steps.append(Step(Verb.CREATE, ROLE_BINDING, namespace, name, wanted))
    elif (
        found_binding.get("subjects") != wanted["subjects"]
        or not LABELS.items() <= _labels(found_binding).items()
    ):
        fix = {"metadata": {"labels": dict(LABELS)}, "subjects": wanted["subjects"]}
        steps.append(Step(Verb.PATCH, ROLE_BINDING, namespace, name, fix))
    return Plan(tuple(steps))
