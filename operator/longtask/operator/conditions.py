"""`status.conditions`: a list keyed by type, updated without losing transition times.

The same for every resource the operator writes: LongTask (`resource.ConditionType`) and
LongTaskSchedule (`schedule.ConditionType`), each with its own reasons.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from longtask.core import resource
from longtask.core.resource import Condition

TRUE = "True"
FALSE = "False"


def find(conditions: Sequence[Condition], kind: enum.StrEnum) -> Condition | None:
    for condition in conditions:
        if condition.get("type") == kind.value:
            return condition
    return None


def is_true(conditions: Sequence[Condition], kind: enum.StrEnum) -> bool:
    found = find(conditions, kind)
    return found is not None and found.get("status") == TRUE


def set_condition(
    conditions: Sequence[Condition],
    kind: enum.StrEnum,
    status: bool,
    reason: enum.StrEnum,
    message: str,
    generation: int | None,
    now: str,
) -> list[Condition]:
    """A new list with condition `kind` set; lastTransitionTime moves only when status changes."""
    text = TRUE if status else FALSE
    previous = find(conditions, kind)
    moved = previous is None or previous.get("status") != text
    updated = Condition(
        type=kind.value,
        status=text,
        reason=reason.value,
        message=message[: resource.MESSAGE_MAX_CHARS],
        lastTransitionTime=now
        if moved or previous is None
        else previous.get("lastTransitionTime", now),
    )
    if generation is not None:
        updated["observedGeneration"] = generation
    result = [c.copy() for c in conditions if c.get("type") != kind.value]
    result.append(updated)
    # A stable order keeps patches small and `kubectl describe` readable.
    order = {k.value: i for i, k in enumerate(type(kind))}
    result.sort(key=lambda c: order.get(str(c.get("type")), len(order)))
    return result
