"""Schedules through the gateway, the Python client (sync and async) and the `longtask`
command: list and show, trigger a run now, backfill past slots (bounded, each slot once),
suspend and resume; authorised with SubjectAccessReviews on `longtaskschedules`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
from typing import Any

import httpx
import pytest
from kubernetes import client
from longtask.client import AsyncClient, Client, errors
from longtask.core import resource, schedule, slots

from tests.fixtures.gateway import Gateway, GatewayFactory
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.waiting import wait_for
from tests.integration.schedules.conftest import Schedules, now

QUICK: dict[str, Any] = {
    "spec": {
        "command": ["sh", "-c", "echo '::progress 50 half'; echo '::result {\"done\": 1}'"],
        "retry": {"maxAttempts": 1},
    }
}


def ready(schedules: Schedules, name: str) -> dict[str, Any]:
    return schedules.wait_status(
        name,
        lambda s: any(c["type"] == "Ready" for c in s.get("conditions") or []),
        f"{name} seen by the operator",
    )


def test_list_get_and_trigger_a_run_that_succeeds(
    sched_operator: OperatorProcess, schedules: Schedules, gateway: Gateway
) -> None:
    schedules.create("hourly", schedule="0 * * * *", template=QUICK)
    ready(schedules, "hourly")
    with Client(gateway.url, gateway.key, namespace=schedules.namespace) as lt:
        (listed,) = list(lt.schedules())
        assert (listed.name, listed.schedule, listed.time_zone) == ("hourly", "0 * * * *", "UTC")
        assert listed.ready is True
        assert listed.next_schedule_time is not None
        assert listed.next_schedule_time.minute == 0 and listed.next_schedule_time > now()

        run = lt.trigger("hourly")
        assert run.name.startswith("hourly-manual-")
        assert run.labels[schedule.LABEL_TRIGGER] == "manual"
        assert run.labels[schedule.LABEL_SCHEDULE] == "hourly"
        done = lt.wait(run.name, timeout=90)
        assert done.phase == resource.Phase.SUCCEEDED
        assert done.result == {"done": 1}

        shown = wait_for(
            lambda: (lambda s: s if s.last_run and s.last_run.name == run.name else None)(
                lt.schedule("hourly")
            ),
            30,
            "the manual run counted as the last run",
        )
        assert shown.last_run is not None and shown.last_run.phase == "Succeeded"
        assert [r.name for r in shown.runs] == [run.name]
        assert shown.runs[0].trigger == "manual"
        with pytest.raises(errors.NotFound):
            lt.schedule("absent")

    async def from_async() -> tuple[str, str]:
        async with AsyncClient(gateway.url, gateway.key, namespace=schedules.namespace) as alt:
            names = [s.name async for s in alt.schedules()]
            item = await alt.schedule("hourly")
            return names[0], item.name

    assert asyncio.run(from_async()) == ("hourly", "hourly")


def test_backfill_runs_each_past_slot_once_and_is_bounded(
    sched_operator: OperatorProcess, schedules: Schedules, gateway: Gateway
) -> None:
    schedules.create(
        "nightly",
        schedule="0 3 * * *",
        timeZone="Europe/Berlin",
        suspend=True,  # only the backfill starts runs here
        template=QUICK,
        successfulRunsHistoryLimit=10,
    )
    end = now()
    start = end - dt.timedelta(days=3)
    expected, _ = slots.parse("0 3 * * *", "Europe/Berlin").between(start, end, 10)
    names = [schedule.run_name("nightly", s) for s in expected]
    with Client(gateway.url, gateway.key, namespace=schedules.namespace) as lt:
        first = lt.backfill("nightly", start, end)
        assert first.slots == expected
        assert [r.name for r in first.created] == names
        assert all(r.labels[schedule.LABEL_TRIGGER] == "backfill" for r in first.created)
        again = lt.backfill("nightly", start, end)
        assert again.created == []
        assert again.existing == names
        for name in names:
            assert lt.wait(name, timeout=90).phase == resource.Phase.SUCCEEDED
        assert sorted(r["metadata"]["name"] for r in schedules.runs("nightly")) == sorted(names)

        with pytest.raises(errors.InvalidRequest) as too_many:
            lt.backfill("nightly", end - dt.timedelta(days=200), end)
        assert too_many.value.error == "too_many_slots"
        with pytest.raises(errors.InvalidRequest) as future:
            lt.backfill("nightly", end, end + dt.timedelta(days=2))
        assert "future" in future.value.message


def test_suspend_and_resume_through_the_gateway(
    sched_operator: OperatorProcess, schedules: Schedules, gateway: Gateway
) -> None:
    schedules.create("pausable", schedule="*/5 * * * * *", template=QUICK)
    ready(schedules, "pausable")
    with Client(gateway.url, gateway.key, namespace=schedules.namespace) as lt:
        assert lt.suspend("pausable").suspend is True
        status = schedules.wait_status(
            "pausable",
            lambda s: any(
                c["type"] == "Suspended" and c["status"] == "True"
                for c in s.get("conditions") or []
            ),
            "Suspended",
        )
        assert "nextScheduleTime" not in status
        shown = lt.schedule("pausable")
        assert (shown.ready, shown.reason) == (False, "Suspended")
        assert lt.resume("pausable").suspend is False
        schedules.wait_status(
            "pausable", lambda s: bool(s.get("nextScheduleTime")), "a next slot again"
        )


def account(k8s: client.ApiClient, namespace: str, name: str, rules: list[tuple[str, str]]) -> str:
    """A service account allowed `rules` ((resource, verb) pairs of longtask.io); its token."""
    core, rbac = client.CoreV1Api(k8s), client.RbacAuthorizationV1Api(k8s)
    meta = client.V1ObjectMeta(name=name)
    core.create_namespaced_service_account(namespace, client.V1ServiceAccount(metadata=meta))
    if rules:
        policy = [
            client.V1PolicyRule(api_groups=[resource.GROUP], resources=[res], verbs=[verb])
            for res, verb in rules
        ]
        rbac.create_namespaced_role(namespace, client.V1Role(metadata=meta, rules=policy))
        rbac.create_namespaced_role_binding(
            namespace,
            client.V1RoleBinding(
                metadata=meta,
                role_ref=client.V1RoleRef(
                    api_group="rbac.authorization.k8s.io", kind="Role", name=name
                ),
                subjects=[
                    client.RbacV1Subject(kind="ServiceAccount", name=name, namespace=namespace)
                ],
            ),
        )
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    issued = core.create_namespaced_service_account_token(name, namespace, request)
    return str(issued.status.token)


def test_schedules_are_authorised_on_longtaskschedules(
    gateway_factory: GatewayFactory, namespace: str, k8s: client.ApiClient
) -> None:
    Schedules(k8s, namespace).create("guarded", schedule="@daily", suspend=True, template=QUICK)
    gw = gateway_factory(auth_mode="kubernetes", auth_cache_seconds="0")
    base = f"/v1/namespaces/{namespace}/schedules"
    viewer = account(
        k8s, namespace, "viewer", [("longtaskschedules", "list"), ("longtaskschedules", "get")]
    )
    starter = account(
        k8s, namespace, "starter", [("longtaskschedules", "get"), ("longtasks", "create")]
    )
    operator = account(k8s, namespace, "pauser", [("longtaskschedules", "patch")])
    tasks_only = account(k8s, namespace, "tasks", [("longtasks", "list"), ("longtasks", "get")])

    def status(method: str, path: str, token: str, **kw: Any) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=gw.url, headers=headers, timeout=30) as http:
            return http.request(method, path, **kw).status_code

    assert status("GET", base, viewer) == 200
    assert status("GET", f"{base}/guarded", viewer) == 200
    assert status("POST", f"{base}/guarded/trigger", viewer) == 403  # no create on longtasks
    assert status("POST", f"{base}/guarded/suspend", viewer) == 403
    assert status("GET", base, tasks_only) == 403  # longtasks rights do not reach schedules
    assert status("POST", f"{base}/guarded/trigger", starter) == 201
    window = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    assert status("POST", f"{base}/guarded/backfill", starter, json=window) == 201
    assert status("POST", f"{base}/guarded/resume", starter) == 403
    assert status("POST", f"{base}/guarded/resume", operator) == 200
    with httpx.Client(base_url=gw.url, timeout=30) as http:
        refused = http.get(base, headers={"Authorization": f"Bearer {tasks_only}"}).json()
    assert refused["message"] == f"not allowed to list longtaskschedules in namespace {namespace!r}"


def longtask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["longtask", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_cli_lists_shows_triggers_backfills_suspends_and_resumes(
    stack: Any, sched_operator: OperatorProcess, schedules: Schedules, gateway: Gateway
) -> None:
    schedules.create("cli", schedule="30 1 * * *", timeZone="America/New_York", template=QUICK)
    ready(schedules, "cli")
    env = dict(stack.env) | {
        "LONGTASK_GATEWAY_URL": gateway.url,
        "LONGTASK_TOKEN": gateway.key or "",
        "LONGTASK_NAMESPACE": schedules.namespace,
        "COLUMNS": "200",
    }
    listed = longtask(env, "schedule", "ls")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:3] == ["NAME", "SCHEDULE", "TIMEZONE"]
    assert row.split()[0] == "cli" and "America/New_York" in row

    triggered = longtask(env, "schedule", "trigger", "cli", "--wait")
    assert triggered.returncode == 0, triggered.stderr
    run_name = next(r["metadata"]["name"] for r in schedules.runs("cli"))
    assert run_name.startswith("cli-manual-")

    shown = longtask(env, "schedule", "get", "cli", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["name"] == "cli" and data["timeZone"] == "America/New_York"
    assert run_name in [r["name"] for r in data["runs"]]
    text = longtask(env, "schedule", "get", "cli")
    assert "Schedule:" in text.stdout and run_name in text.stdout

    start = (now() - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    filled = longtask(env, "schedule", "backfill", "cli", "--from", start)
    assert filled.returncode == 0, filled.stderr
    assert "2 slots of cli: 2 runs started, 0 had a run already." in filled.stdout
    refill = longtask(env, "schedule", "backfill", "cli", "--from", start)
    assert "0 runs started, 2 had a run already" in refill.stdout

    paused = longtask(env, "schedule", "suspend", "cli")
    assert paused.returncode == 0 and "suspended" in paused.stdout
    assert schedules.get("cli")["spec"]["suspend"] is True
    resumed = longtask(env, "schedule", "resume", "cli")
    assert resumed.returncode == 0 and "resumed" in resumed.stdout
    assert schedules.get("cli")["spec"]["suspend"] is False

    missing = longtask(env, "schedule", "trigger", "absent")
    assert missing.returncode == 1
    assert "not found" in missing.stderr.lower()
