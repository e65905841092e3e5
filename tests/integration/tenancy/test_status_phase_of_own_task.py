"""Attack: a task sets its own phase, conditions or attempts (say Succeeded while it runs). The
status admission policy lets a task's pod write only progress, message, result and resultRef;
the operator's phase and records stay true."""

from __future__ import annotations

import pytest

from tests.fixtures.operator import Tasks

from .tenants import attack

pytestmark = pytest.mark.usefixtures("operator_proc")


def test_a_task_cannot_set_its_own_phase_conditions_or_attempts(tasks: Tasks) -> None:
    condition = {"type": "Succeeded", "status": "True", "reason": "Completed"}
    tasks.create(
        "self-made",
        attack(
            "patch_statuses",
            {
                "patches": [
                    {"task": None, "status": {"phase": "Succeeded"}},
                    {"task": None, "status": {"conditions": [condition]}},
                    {"task": None, "status": {"attempts": [], "attempt": 7}},
                    {"task": None, "status": {"progress": 42, "message": "still mine"}},
                ]
            },
        ),
    )
    ended = tasks.wait_final("self-made")["status"]
    *refused, allowed = ended["result"]
    for answer in refused:
        assert answer["code"] == 403, answer
        assert "a task may write only status.progress" in answer["message"]
    assert allowed == {"code": 200, "message": ""}
    assert ended["phase"] == "Succeeded" and ended["reason"] == "Completed"
    assert ended["attempt"] == 1 and [a["number"] for a in ended["attempts"]] == [1]
