"""A status that contradicts the task's Job (a phase written by an admin, or by an older path
than the admission policy allows) is put back by the operator from the Job, with a Warning
Event; the task then ends with its true phase and result, and `kubectl wait` on it works."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from longtask.core import resource
from longtask.devstack.stack import Stack

from tests.fixtures.operator import Tasks
from tests.fixtures.waiting import wait_for
from tests.integration.tenancy.tenants import victim

pytestmark = pytest.mark.usefixtures("operator_proc")


def test_a_forged_final_phase_is_repaired_from_the_running_job(
    tasks: Tasks, stack: Stack, pod_visible_dir: Path
) -> None:
    release = pod_visible_dir / "release"
    tasks.create("forged", victim(release, {"genuine": True}))
    tasks.wait_phase("forged", {"Running"})

    stack.kubectl(
        "patch", "lt", "forged", "-n", tasks.namespace, "--subresource=status", "--type=merge",
        "-p", '{"status":{"phase":"Succeeded","result":{"forged":true}}}',
    )  # fmt: skip
    tasks.wait_phase("forged", {"Running"}, timeout=20)
    tasks.wait_events("forged", {resource.Reason.STATUS_REPAIRED.value})
    status = tasks.get("forged")["status"]
    assert "completionTime" not in status
    assert status["reason"] == resource.Reason.STATUS_REPAIRED.value

    waiting = subprocess.Popen(
        [stack.bin_dir / "kubectl", f"--kubeconfig={stack.kubeconfig}", "-n", tasks.namespace,
         "wait", "--for=condition=Succeeded", "lt/forged", "--timeout=60s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    release.touch()
    out, err = waiting.communicate(timeout=90)
    assert waiting.returncode == 0, err
    assert "condition met" in out
    ended = wait_for(
        lambda: (s := tasks.get("forged")["status"])["phase"] == "Succeeded" and s, 10, "Succeeded"
    )
    assert ended["result"] == {"genuine": True}
    assert [a["outcome"] for a in ended["attempts"]] == ["Succeeded"]
