"""The API server itself refuses invalid schedules (no webhook: the CRD's schema and CEL rules),
with a message that names the field at fault."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes import client
from longtask.core import schedule

from tests.fixtures.waiting import wait_for

VALID: dict[str, Any] = {
    "apiVersion": schedule.API_VERSION,
    "kind": schedule.KIND,
    "metadata": {"name": "valid"},
    "spec": {
        "schedule": "0 2 * * *",
        "timeZone": "Europe/Berlin",
        "template": {"spec": {"command": ["true"]}},
    },
}


def create(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    return client.CustomObjectsApi(api).create_namespaced_custom_object(  # type: ignore[return-value]
        schedule.GROUP, schedule.VERSION, namespace, schedule.PLURAL, body
    )


def refusal(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> str:
    with pytest.raises(client.ApiException) as caught:
        create(api, namespace, body)
    assert caught.value.status == 422
    return str(json.loads(str(caught.value.body))["message"])


def with_spec(name: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID)
    body["metadata"]["name"] = name
    for key, value in changes.items():
        if value is None:
            del body["spec"][key]
        else:
            body["spec"][key] = value
    return body


def test_a_valid_schedule_is_accepted_with_its_defaults(
    k8s: client.ApiClient, namespace: str
) -> None:
    created = create(k8s, namespace, with_spec("valid"))
    spec = created["spec"]
    assert spec["concurrencyPolicy"] == "Allow"
    assert spec["missedRuns"] == "RunLatest"
    assert spec["suspend"] is False
    assert spec["successfulRunsHistoryLimit"] == schedule.DEFAULT_SUCCESSFUL_HISTORY
    assert spec["failedRunsHistoryLimit"] == schedule.DEFAULT_FAILED_HISTORY
    macro = create(k8s, namespace, with_spec("macro", schedule="@daily", timeZone=None))
    assert macro["spec"]["timeZone"] == "UTC"


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"schedule": "61 2 * * *"}, "spec.schedule", "the minute field"),
        ({"schedule": "0 24 * * *"}, "spec.schedule", "the hour field"),
        ({"schedule": "0 2 32 * *"}, "spec.schedule", "the day-of-month field"),
        ({"schedule": "0 2 * 13 *"}, "spec.schedule", "the month field"),
        ({"schedule": "0 2 * * MONDAY"}, "spec.schedule", "the day-of-week field"),
        ({"schedule": "0 2 * *"}, "spec.schedule", "must be 5 cron fields"),
        ({"schedule": "@fortnightly"}, "spec.schedule", "or a macro"),
        ({"schedule": "61 0 2 * * *"}, "spec.schedule", "the seconds field"),
        ({"timeZone": "Mars/Olympus"}, "spec.timeZone", "IANA time zone"),
        ({"template": {"spec": {"params": {}}}}, "spec.template.spec", "exactly one of"),
        ({"template": {"metadata": {"labels": {"a": "b"}}}}, "spec.template.spec", "Required"),
        ({"template": None}, "spec.template", "Required"),
        ({"concurrencyPolicy": "Sometimes"}, "spec.concurrencyPolicy", "Unsupported value"),
        ({"missedRuns": "RunSome"}, "spec.missedRuns", "Unsupported value"),
        ({"maxMissedRuns": 1000}, "spec.maxMissedRuns", "less than or equal to 100"),
    ],
)
def test_an_invalid_schedule_is_refused_naming_the_field(
    k8s: client.ApiClient, namespace: str, changes: dict[str, Any], field: str, says: str
) -> None:
    message = refusal(k8s, namespace, with_spec("invalid", **changes))
    assert f"{field}: " in message, message
    assert says in message, message


def test_a_name_too_long_for_its_runs_is_refused(k8s: client.ApiClient, namespace: str) -> None:
    message = refusal(k8s, namespace, with_spec("n" * (schedule.NAME_MAX_CHARS + 1)))
    assert "metadata.name must be at most 40 characters" in message


def _explain(stack: Any, path: str) -> str | None:
    try:
        return str(stack.kubectl("explain", path))
    except RuntimeError:  # discovery lags a just established CRD
        return None


def test_kubectl_explain_and_get_answer_when_next_and_how_the_last_went(
    stack: Any, k8s: client.ApiClient, namespace: str
) -> None:
    explained = wait_for(
        lambda: _explain(stack, "lts.spec.missedRuns"), 30, "kubectl to discover the new CRD"
    )
    assert "Slots that passed while no operator could start them" in explained
    assert "RunLatest" in stack.kubectl("explain", "longtaskschedule.spec")
    create(k8s, namespace, with_spec("shown"))
    client.CustomObjectsApi(k8s).patch_namespaced_custom_object_status(
        schedule.GROUP,
        schedule.VERSION,
        namespace,
        schedule.PLURAL,
        "shown",
        {
            "status": {
                "lastScheduleTime": "2026-03-01T01:00:00Z",
                "nextScheduleTime": "2026-03-02T01:00:00Z",
                "activeRuns": 0,
                "lastRun": {"name": "shown-20260301-010000", "phase": "Succeeded"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "Scheduling"}],
            }
        },
    )
    table = stack.kubectl("get", "lts", "shown", "-n", namespace, "-o", "wide")
    header, row = table.splitlines()[:2]
    assert header.split() == [
        "NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "LAST",
        "RESULT", "NEXT", "SCHEDULE", "READY", "AGE",
    ]  # fmt: skip
    cells = row.split()
    assert cells[:4] == ["shown", "0", "2", "*"] and "Europe/Berlin" in cells
    assert cells[-4:-1] == ["Succeeded", "2026-03-02T01:00:00Z", "True"]
