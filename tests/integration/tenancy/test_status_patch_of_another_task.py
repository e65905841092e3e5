"""Attack: a task patches another task's status (phase, result, even the runner's own fields)
with its pod's credentials. The status admission policy refuses it; the victim ends with its
true status and result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.operator import Tasks

from .tenants import attack, victim

pytestmark = pytest.mark.usefixtures("operator_proc")


def test_a_task_cannot_patch_another_tasks_status(tasks: Tasks, pod_visible_dir: Path) -> None:
    release = pod_visible_dir / "release-victim"
    tasks.create("victim", victim(release, {"genuine": True}))
    tasks.wait_phase("victim", {"Running"})

    forged = {"phase": "Succeeded", "result": {"forged": True}}
    runner_fields = {"progress": 99, "message": "forged", "result": {"forged": True}}
    tasks.create(
        "attacker",
        attack(
            "patch_statuses",
            {
                "patches": [
                    {"task": "victim", "status": forged},
                    {"task": "victim", "status": runner_fields},
                    {"task": None, "status": {"progress": 50, "message": "my own"}},
                ]
            },
        ),
    )
    attacker = tasks.wait_final("attacker")
    assert attacker["status"]["phase"] == "Succeeded", attacker["status"]
    to_victim, to_victim_again, to_itself = attacker["status"]["result"]
    for answer in (to_victim, to_victim_again):
        assert answer["code"] == 403, answer
        assert "only the pod of the current attempt of victim (Job victim-1)" in answer["message"]
        assert "this request came from pod attacker-1-" in answer["message"]
    assert to_itself == {"code": 200, "message": ""}  # its own progress: allowed

    status = tasks.get("victim")["status"]
    assert status["phase"] == "Running"
    assert "result" not in status and status.get("message") != "forged"

    release.touch()
    ended = tasks.wait_final("victim")["status"]
    assert ended["phase"] == "Succeeded"
    assert ended["result"] == {"genuine": True}
