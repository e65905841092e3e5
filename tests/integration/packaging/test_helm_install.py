"""`helm install` of the chart into the local control plane: every object is created, each
account can do exactly what it needs (proven with `kubectl auth can-i --as`), and `helm
uninstall` removes the release but leaves the CRD.

The control plane runs no Deployment or StatefulSet controller and the local node does not run
images, so the release's pods never run: the objects and the rights are what is checked. The
session's CRD (applied by the stack) is adopted by the release, as on a cluster where longtask's
CRD was applied by hand before the chart.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from longtask.core import resource, schedule, taskqueue
from longtask.devstack.stack import Stack
from longtask.operator import provisioning
from longtask.operator.settings import Settings

from tests.fixtures.packaging import CHART, REPO, run

LONGTASKS = f"{resource.PLURAL}.{resource.GROUP}"
ROLEBINDINGS = "rolebindings.rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str  # operator, gateway, Redis
    tasks: str  # the watched namespace, holding the runner's account
    other: str  # a namespace the release was not given
    manifest: list[dict[str, Any]]


def kubectl(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return run([stack.bin_dir / "kubectl", f"--kubeconfig={stack.kubeconfig}", *args])


def helm_cmd(helm: Path, stack: Stack, *args: str | Path) -> list[str | Path]:
    return [helm, f"--kubeconfig={stack.kubeconfig}", *args]


# The cluster-wide objects the stack applied and the release takes over (kept on uninstall).
STACK_OBJECTS = (
    f"crd/{resource.CRD_NAME}",
    f"crd/{schedule.CRD_NAME}",
    f"crd/{taskqueue.CRD_NAME}",
    "validatingadmissionpolicy/longtask-status-writers",
    "validatingadmissionpolicybinding/longtask-status-writers",
)


def adopt(stack: Stack, release: str, namespace: str) -> None:
    """Mark the stack's cluster-wide objects as the release's, so that helm takes them over
    instead of refusing."""
    for ref in STACK_OBJECTS:
        done = kubectl(stack, "label", "--overwrite", ref, "app.kubernetes.io/managed-by=Helm")
        assert done.returncode == 0, done.stderr
        done = kubectl(
            stack,
            "annotate",
            "--overwrite",
            ref,
            f"meta.helm.sh/release-name={release}",
            f"meta.helm.sh/release-namespace={namespace}",
        )
        assert done.returncode == 0, done.stderr


def hand_back(stack: Stack) -> None:
    """The stack's cluster-wide objects as they were before: owned by no release."""
    for ref in STACK_OBJECTS:
        kubectl(stack, "label", ref, "app.kubernetes.io/managed-by-")
        kubectl(
            stack, "annotate", ref, "meta.helm.sh/release-name-", "meta.helm.sh/release-namespace-"
        )
    stack.apply_crd()
    stack.apply_admission()


@pytest.fixture(scope="module")
def release(stack: Stack, helm: Path) -> Iterator[Release]:
    # Installing a stale copy would change the CRDs every other test of the session uses.
    for source_crd in (REPO / "deploy" / "crds").glob("*.yaml"):
        chart_crd = CHART / "files" / "crds" / source_crd.name
        assert chart_crd.read_bytes() == source_crd.read_bytes(), "run `make manifests`"
    suffix = secrets.token_hex(3)
    rel = Release(f"pk-{suffix}", f"pk-{suffix}", f"pk-{suffix}-tasks", f"pk-{suffix}-other", [])
    for ns in (rel.tasks, rel.other):
        assert kubectl(stack, "create", "namespace", ns).returncode == 0
    adopt(stack, rel.name, rel.namespace)
    install = run(
        helm_cmd(
            helm, stack, "install", rel.name, CHART,
            "--namespace", rel.namespace, "--create-namespace",
            "--set", f"watchNamespaces[0]={rel.tasks}",
            "--set", "metrics.dashboard.enabled=true",
            "--timeout", "2m",
        )
    )  # fmt: skip
    try:
        assert install.returncode == 0, install.stderr
        assert "Next steps" in install.stdout  # NOTES.txt
        got = run(helm_cmd(helm, stack, "get", "manifest", rel.name, "-n", rel.namespace))
        assert got.returncode == 0, got.stderr
        manifest = [o for o in yaml.safe_load_all(got.stdout) if o]
        yield Release(rel.name, rel.namespace, rel.tasks, rel.other, manifest)
    finally:
        run(helm_cmd(helm, stack, "uninstall", rel.name, "-n", rel.namespace, "--wait"))
        for ns in (rel.namespace, rel.tasks, rel.other):
            kubectl(stack, "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
        hand_back(stack)


def test_install_creates_every_object_of_the_release(stack: Stack, release: Release) -> None:
    assert len(release.manifest) > 15
    missing = []
    for obj in release.manifest:
        meta = obj["metadata"]
        args = ["get", f"{obj['kind']}.{obj['apiVersion'].split('/')[0]}", meta["name"]]
        if obj["apiVersion"] in {"v1", "apps/v1"} or "/" not in obj["apiVersion"]:
            args[1] = obj["kind"]
        if "namespace" in meta:
            args += ["-n", meta["namespace"]]
        if kubectl(stack, *args).returncode != 0:
            missing.append(f"{obj['kind']}/{meta['name']}")
    assert missing == []


def test_the_crds_and_the_status_policy_are_the_releases_and_kept(
    stack: Stack, release: Release
) -> None:
    for ref in STACK_OBJECTS:
        found = json.loads(kubectl(stack, "get", ref, "-o", "json").stdout)
        assert found["metadata"]["annotations"]["meta.helm.sh/release-name"] == release.name
        assert found["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def can_i(stack: Stack, account: str, verb: str, what: str, namespace: str | None) -> bool:
    # `can-i VERB RES/NAME` means a named object: a subresource needs --subresource.
    res, _, subresource = what.partition("/")
    args = ["auth", "can-i", verb, res, f"--as={account}"]
    args += [f"--subresource={subresource}"] if subresource else []
    args += ["-n", namespace] if namespace else []
    done = kubectl(stack, *args)
    answer = done.stdout.strip()
    assert answer in {"yes", "no"}, done.stderr
    return answer == "yes"


def check_rights(
    stack: Stack,
    account: str,
    allowed: Sequence[tuple[str, str, str | None]],
    forbidden: Sequence[tuple[str, str, str | None]],
) -> None:
    wrong = [
        f"cannot {v} {w} in {ns}" for v, w, ns in allowed if not can_i(stack, account, v, w, ns)
    ]
    wrong += [f"can {v} {w} in {ns}" for v, w, ns in forbidden if can_i(stack, account, v, w, ns)]
    assert wrong == [], account


def test_operator_can_do_only_what_it_uses(stack: Stack, release: Release) -> None:
    tasks, other = release.tasks, release.other
    account = f"system:serviceaccount:{release.namespace}:{release.name}-longtask-operator"
    allowed = [
        *((v, LONGTASKS, tasks) for v in ("get", "list", "watch", "delete")),
        # A schedule's runs: created, and cancelled through spec.cancel (concurrencyPolicy).
        *((v, LONGTASKS, tasks) for v in ("create", "patch")),
        ("patch", f"{LONGTASKS}/status", tasks),
        ("override", f"{LONGTASKS}/status", tasks),  # past the status admission policy
        ("update", f"{LONGTASKS}/finalizers", tasks),
        *((v, "jobs.batch", tasks) for v in ("create", "get", "list", "watch", "delete")),
        *((v, "pods", tasks) for v in ("get", "list")),
        ("create", "events", tasks),
        ("create", "events.events.k8s.io", tasks),
        *((v, "serviceaccounts", tasks) for v in ("get", "list", "watch", "create", "patch")),
        ("delete", "serviceaccounts", tasks),
        *((v, ROLEBINDINGS, tasks) for v in ("list", "watch", "create", "patch", "delete")),
        ("watch", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("list", "namespaces", None),
    ]
    forbidden = [
        ("get", "secrets", tasks),
        ("create", "pods/exec", tasks),
        ("create", "pods", tasks),
        ("delete", "pods", tasks),
        ("update", LONGTASKS, tasks),
        ("update", "jobs.batch", tasks),
        ("create", "jobs.batch", other),  # not a watched namespace
        ("get", LONGTASKS, other),
        ("get", "configmaps", tasks),
        ("create", "serviceaccounts/token", tasks),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io", None),
        ("delete", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("create", "roles.rbac.authorization.k8s.io", tasks),
        ("bind", "clusterroles.rbac.authorization.k8s.io", tasks),  # only the runner's, by name
        ("escalate", "roles.rbac.authorization.k8s.io", tasks),
        ("create", ROLEBINDINGS, other),
        ("create", "serviceaccounts", other),
    ]
    check_rights(stack, account, allowed, forbidden)


def as_operator(
    stack: Stack, release: Release, verb: str, obj: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    operator = f"system:serviceaccount:{release.namespace}:{release.name}-longtask-operator"
    return run(
        [stack.bin_dir / "kubectl", f"--kubeconfig={stack.kubeconfig}", f"--as={operator}",
         verb, "-f", "-"],
        input=json.dumps(obj),
    )  # fmt: skip


@pytest.fixture(scope="module")
def provisioned(stack: Stack, release: Release) -> Release:
    """The runner's account in the tasks' namespace, made as the operator makes it, with the
    operator's own rights (the release's pods never run here)."""
    settings = Settings(runner_cluster_role=f"{release.name}-longtask-runner")
    for obj in (
        provisioning.account(release.tasks, settings),
        provisioning.binding(release.tasks, settings),
    ):
        done = as_operator(stack, release, "create", obj)
        assert done.returncode == 0, done.stderr
    return release


def test_operator_may_bind_the_runners_cluster_role_and_no_other(
    stack: Stack, provisioned: Release
) -> None:
    settings = Settings(runner_cluster_role="cluster-admin")
    escalating = provisioning.binding(provisioned.tasks, settings)
    escalating["metadata"]["name"] = "not-the-runner"
    done = as_operator(stack, provisioned, "create", escalating)
    assert done.returncode != 0
    assert "forbidden" in done.stderr and "bind" in done.stderr


def test_gateway_can_do_only_what_it_uses(stack: Stack, release: Release) -> None:
    tasks, other = release.tasks, release.other
    account = f"system:serviceaccount:{release.namespace}:{release.name}-longtask-gateway"
    allowed = [
        ("create", "tokenreviews.authentication.k8s.io", None),
        ("create", "subjectaccessreviews.authorization.k8s.io", None),
        *((v, LONGTASKS, tasks) for v in ("get", "list", "watch", "create", "patch", "delete")),
        ("get", f"{LONGTASKS}/status", tasks),
        ("get", "serviceaccounts", tasks),  # a task's own account must be marked
        ("list", "events", tasks),  # a task's Kubernetes Events on the dashboard
        ("get", "namespaces", None),  # 404 for an unknown namespace
        *((v, "longtaskqueues.longtask.io", tasks) for v in ("get", "list", "patch")),
    ]
    forbidden = [
        ("create", "events", tasks),
        ("list", "namespaces", None),
        ("patch", f"{LONGTASKS}/status", tasks),  # status is the operator's and the runner's
        ("create", "serviceaccounts", tasks),
        ("list", "serviceaccounts", tasks),
        ("override", f"{LONGTASKS}/status", tasks),
        ("update", LONGTASKS, tasks),
        ("create", LONGTASKS, other),
        ("get", "secrets", tasks),
        ("get", "secrets", release.namespace),
        ("create", "jobs.batch", tasks),
        ("create", "pods/exec", tasks),
        ("list", "pods", tasks),
        ("create", "serviceaccounts/token", tasks),
        ("patch", "longtaskqueues.longtask.io/status", tasks),  # the operator's
    ]
    check_rights(stack, account, allowed, forbidden)


def test_runner_can_read_its_task_and_patch_status_only(stack: Stack, provisioned: Release) -> None:
    tasks, other = provisioned.tasks, provisioned.other
    account = f"system:serviceaccount:{tasks}:longtask-runner"
    allowed = [("get", LONGTASKS, tasks), ("patch", f"{LONGTASKS}/status", tasks)]
    forbidden = [
        ("override", f"{LONGTASKS}/status", tasks),  # held back by the status admission policy
        ("list", LONGTASKS, tasks),
        ("watch", LONGTASKS, tasks),
        ("patch", LONGTASKS, tasks),  # another LongTask's (or its own) spec
        ("update", LONGTASKS, tasks),
        ("delete", LONGTASKS, tasks),
        ("create", LONGTASKS, tasks),
        ("get", LONGTASKS, other),
        ("get", "secrets", tasks),
        ("create", "pods/exec", tasks),
        ("get", "pods", tasks),
        ("create", "jobs.batch", tasks),
        ("create", "serviceaccounts/token", tasks),
    ]
    check_rights(stack, account, allowed, forbidden)


def patch_status(
    stack: Stack, namespace: str, name: str, status: dict[str, Any], as_user: str | None = None
) -> int:
    """Merge-patch a LongTask's status as the stack's admin, or impersonating `as_user`; the
    HTTP status code (`kubectl patch --subresource` would also need `get` on the status)."""
    with config.new_client_from_config(config_file=str(stack.kubeconfig)) as api:
        if as_user:
            api.set_default_header("Impersonate-User", as_user)
        try:
            client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
                resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
                {"status": status},
            )  # fmt: skip
        except client.ApiException as exc:
            assert exc.status == 403 and "only the pod of the current attempt" in str(exc.body)
            return int(exc.status)
    return 200


def test_status_policy_binds_accounts_but_not_the_operator(stack: Stack, release: Release) -> None:
    """The release's policy on a real API server: the operator's account writes any status field,
    the runner's account without a pod writes none, people are not concerned."""
    task = {
        "apiVersion": resource.API_VERSION,
        "kind": resource.KIND,
        "metadata": {"name": "policy-probe", "namespace": release.tasks},
        "spec": {"command": ["true"]},
    }
    done = run(
        [stack.bin_dir / "kubectl", f"--kubeconfig={stack.kubeconfig}", "create", "-f", "-"],
        input=json.dumps(task),
    )
    assert done.returncode == 0, done.stderr
    operator = f"system:serviceaccount:{release.namespace}:{release.name}-longtask-operator"
    runner = f"system:serviceaccount:{release.tasks}:longtask-runner"
    probe = (stack, release.tasks, "policy-probe")
    assert patch_status(*probe, {"phase": "Pending", "jobName": "policy-probe-1"}, operator) == 200
    assert patch_status(*probe, {"progress": 10}, runner) == 403
    assert patch_status(*probe, {"progress": 20, "phase": "Running"}) == 200  # an admin


def test_uninstall_removes_the_release_and_leaves_the_crd_and_policy(
    stack: Stack, helm: Path, release: Release
) -> None:
    done = run(helm_cmd(helm, stack, "uninstall", release.name, "-n", release.namespace, "--wait"))
    assert done.returncode == 0, done.stderr
    assert "kept due to the resource policy" in done.stdout + done.stderr
    for kind in ("clusterrole", "clusterrolebinding"):
        gone = kubectl(stack, "get", kind, f"{release.name}-longtask-operator")
        assert gone.returncode != 0 and "NotFound" in gone.stderr
    # Tasks' pods outlive the release (their Jobs belong to the LongTasks): the policy stays too.
    for ref in STACK_OBJECTS:
        assert kubectl(stack, "get", ref).returncode == 0
    gone = kubectl(stack, "get", "deployment", "-n", release.namespace, "-o", "name")
    assert gone.stdout.strip() == ""


def test_the_notes_warn_when_tasks_share_redis_credentials(stack: Stack, helm: Path) -> None:
    done = run(
        helm_cmd(
            helm, stack, "install", "pk-notes", CHART, "--dry-run=client",
            "--namespace", "pk-notes",
            # The cluster-wide objects belong to the module's release.
            "--set", "crds.install=false", "--set", "statusPolicy.install=false",
            "--set", "redis.url=redis://redis.example:6379/0",
            "--set", "redis.taskUsers.enabled=false",
        )
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "WARNING: redis.taskUsers.enabled is false" in done.stdout
