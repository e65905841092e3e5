"""status.conditions updates."""

from __future__ import annotations

from longtask.core.resource import ConditionType, Reason
from longtask.operator import conditions


def test_setting_a_condition_adds_it_with_generation_and_time() -> None:
    out = conditions.set_condition(
        [], ConditionType.RUNNING, True, Reason.POD_RUNNING, "m", 3, "T1"
    )
    assert out == [
        {
            "type": "Running",
            "status": "True",
            "reason": "PodRunning",
            "message": "m",
            "lastTransitionTime": "T1",
            "observedGeneration": 3,
        }
    ]


def test_transition_time_moves_only_when_the_status_changes() -> None:
    first = conditions.set_condition(
        [], ConditionType.STALLED, True, Reason.NO_HEARTBEAT, "", 1, "T1"
    )
    same = conditions.set_condition(
        first, ConditionType.STALLED, True, Reason.NO_HEARTBEAT, "x", 1, "T2"
    )
    assert same[0]["lastTransitionTime"] == "T1" and same[0]["message"] == "x"
    flipped = conditions.set_condition(
        same, ConditionType.STALLED, False, Reason.HEARTBEAT_RESUMED, "", 1, "T3"
    )
    assert flipped[0]["lastTransitionTime"] == "T3" and flipped[0]["status"] == "False"


def test_conditions_are_keyed_by_type_in_a_stable_order() -> None:
    out = conditions.set_condition([], ConditionType.FAILED, True, Reason.INVALID_SPEC, "", 1, "T")
    out = conditions.set_condition(
        out, ConditionType.RUNNING, False, Reason.INVALID_SPEC, "", 1, "T"
    )
    out = conditions.set_condition(out, ConditionType.FAILED, True, Reason.INVALID_SPEC, "", 1, "T")
    assert [c["type"] for c in out] == ["Running", "Failed"]
    assert conditions.is_true(out, ConditionType.FAILED)
    assert not conditions.is_true(out, ConditionType.RUNNING)
    assert not conditions.is_true(out, ConditionType.STALLED)
