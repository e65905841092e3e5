"""deploy/manifests/ and the chart's copies of the CRD, the rules and the dashboard equal what
`make manifests` produces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.fixtures.packaging import REPO, run


def check(helm: Path, root: Path = REPO) -> subprocess.CompletedProcess[str]:
    script = root / "deploy" / "tools" / "manifests.sh"
    env = os.environ | {"HELM": str(helm), "PYTHON": sys.executable}
    return run(["bash", script, "--check"], env=env)


def test_rendered_manifests_and_chart_copies_have_not_drifted(helm: Path) -> None:
    done = check(helm)
    assert done.returncode == 0, done.stderr[-4000:]


def test_manifests_install_the_whole_release(helm: Path) -> None:
    objects = [
        o for o in yaml.safe_load_all((REPO / "deploy/manifests/longtask.yaml").read_text()) if o
    ]
    kinds = {o["kind"] for o in objects}
    assert {
        "Namespace", "CustomResourceDefinition", "Deployment", "Service", "StatefulSet",
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    } <= kinds  # fmt: skip
    # The runner's account and RoleBinding in each task namespace are the operator's to make;
    # the one Role is the operator's right to its Lease (leader election).
    roles = {
        (o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] in ("Role", "RoleBinding")
    }
    assert roles == {
        ("Role", "longtask-operator-leader-election"),
        ("RoleBinding", "longtask-operator-leader-election"),
    }
    assert all(o["metadata"].get("namespace", "longtask") == "longtask" for o in objects)
    # Plain manifests cannot generate a key: the stream-token Secret is created by hand.
    assert not [o for o in objects if o["kind"] == "Secret"]


def test_drift_check_notices_a_changed_copy(helm: Path, tmp_path: Path) -> None:
    """The check can fail: a changed chart copy of the CRD makes it report drift (on a copy of
    the repository's files, so that the work tree is never touched)."""
    for part in ["deploy/tools", "deploy/crds", "deploy/admission", "deploy/prometheus",
                 "deploy/grafana", "deploy/manifests", "charts/longtask"]:  # fmt: skip
        shutil.copytree(REPO / part, tmp_path / part)
    copy = tmp_path / "charts/longtask/files/crds/longtask.io_longtasks.yaml"
    assert check(helm, tmp_path).returncode == 0
    copy.write_text(copy.read_text() + "# changed\n")
    done = check(helm, tmp_path)
    assert done.returncode != 0
    assert "drift: charts/longtask/files/crds/longtask.io_longtasks.yaml" in done.stderr
