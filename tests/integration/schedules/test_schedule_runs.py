"""A schedule on the real stack: its runs start on the slots, each is a LongTask that runs like
any other (progress, SSE), history limits prune them, and Forbid and Replace keep runs from
overlapping."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from longtask.core import resource, schedule

from tests.fixtures.gateway import Gateway, read_events
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.waiting import wait_for
from tests.integration.schedules.conftest import Schedules, parse, slot_of

PROGRESS = (
    "echo '::progress 40 reading'; sleep 0.5; echo '::progress 80 writing'; sleep 0.5; "
    "echo '::result {\"ok\": true}'"
)


def command(script: str, **env: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"command": ["sh", "-c", script], "retry": {"maxAttempts": 1}}
    if env:
        spec["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return spec


def test_runs_start_on_their_slots_succeed_like_any_task_and_are_pruned(
    sched_operator: OperatorProcess, schedules: Schedules, gateway: Gateway
) -> None:
    schedules.create(
        "tick",
        schedule="*/3 * * * * *",
        template={"metadata": {"labels": {"team": "a"}}, "spec": command(PROGRESS)},
        successfulRunsHistoryLimit=2,
    )
    metric = schedule_metric(sched_operator, "tick")
    wait_for(lambda: metric() >= 4, 60, "four runs started")
    status = schedules.wait_status(
        "tick", lambda s: s.get("lastRun", {}).get("phase") == "Succeeded", "a run succeeded"
    )
    assert parse(status["lastSuccessfulTime"]) is not None
    assert status["consecutiveFailures"] == 0
    assert (parse(status["nextScheduleTime"]) or dt.datetime.max).second % 3 == 0

    # Every run: named from the schedule and its slot, labelled, owned; slots 3 s apart.
    created = schedules.get("tick")
    for run in schedules.runs("tick"):
        slot = slot_of(run)
        assert slot.second % 3 == 0
        assert run["metadata"]["name"] == f"tick-{slot:%Y%m%d-%H%M%S}"
        assert run["metadata"]["labels"]["team"] == "a"
        assert run["metadata"]["labels"][schedule.LABEL_TRIGGER] == "schedule"
        (owner,) = run["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["uid"]) == (schedule.KIND, created["metadata"]["uid"])

    # A run succeeds with progress and SSE like any task.
    succeeded = wait_for(
        lambda: [
            r for r in schedules.runs("tick") if (r.get("status") or {}).get("phase") == "Succeeded"
        ],
        60,
        "a succeeded run",
    )
    name = succeeded[0]["metadata"]["name"]
    assert succeeded[0]["status"]["result"] == {"ok": True}
    events = read_events(gateway, f"/v1/namespaces/{schedules.namespace}/tasks/{name}/events")
    kinds = [e["event"] for e in events]
    assert kinds[0] == "snapshot" and kinds[-1] == "end"
    progress = [e["data"]["progress"] for e in events if e["event"] == "progress"]
    assert {40, 80} <= set(progress), progress
    assert progress == sorted(progress)

    # Cost: one run created per slot started, two schedule status patches per slot at most
    # (the slot, then its run's end) and the first round's.
    started = metric()
    writes = sched_operator.metric(
        "longtask_operator_api_writes_total", verb="patch_schedule_status"
    )
    assert 0 < writes <= 2 * (started + 1) + 1, (writes, started)

    # History: at most 2 succeeded runs are kept once more have finished.
    wait_for(
        lambda: (
            len(finished(schedules.runs("tick"), "Succeeded")) == 2
            and metric() >= 5
            and len(finished(schedules.runs("tick"), "Succeeded")) == 2
        ),
        60,
        "older succeeded runs pruned to the history limit",
    )


def finished(runs: list[dict[str, Any]], phase: str) -> list[dict[str, Any]]:
    return [r for r in runs if (r.get("status") or {}).get("phase") == phase]


def schedule_metric(op: OperatorProcess, name: str, metric: str = "") -> Any:
    series = metric or "longtask_schedule_runs_started_total"

    def read(**labels: str) -> float:
        base = {"namespace": op.env["LONGTASK_NAMESPACES"], "schedule": name}
        if series == "longtask_schedule_runs_started_total":
            base["trigger"] = "schedule"
        return op.metric(series, **(base | labels))

    return read


def test_forbid_never_overlaps_runs_and_records_the_skipped_slot(
    sched_operator: OperatorProcess, schedules: Schedules
) -> None:
    schedules.create(
        "slow",
        schedule="*/2 * * * * *",
        concurrencyPolicy="Forbid",
        template={"spec": command("echo '::progress 10 long'; sleep 5")},
        failedRunsHistoryLimit=5,
        successfulRunsHistoryLimit=5,
    )
    wait_for(lambda: len(finished(schedules.runs("slow"), "Succeeded")) >= 2, 90, "two runs done")
    runs = schedules.runs("slow")
    # Each run started after the previous one finished: its first attempt's Job was created
    # after the previous run's completion.
    done = [r for r in runs if (r.get("status") or {}).get("completionTime")]
    for before, after in itertools.pairwise(runs):
        if before in done:
            started = parse(after["status"]["attempts"][0]["start"])
            ended = parse(before["status"]["completionTime"])
            assert started is not None and ended is not None and started >= ended
    missed = schedule_metric(sched_operator, "slow", "longtask_schedule_slots_missed_total")
    assert missed(reason="ConcurrencyForbid") >= 1
    wait_for(lambda: "ConcurrencyForbid" in schedules.event_reasons("slow"), 20, "the Event")
    # A skipped slot has no run: every slot handled is a run or a skipped slot, never both.
    handled = {slot_of(r) for r in runs}
    skipped = [e.message for e in schedules.events("slow") if e.reason == "ConcurrencyForbid"]
    for message in skipped:
        slot = dt.datetime.strptime(message.split()[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        assert slot not in handled


TRAPPING = (
    'trap "echo term > $MARKERS/$LONGTASK_NAME; exit 143" TERM; echo "::progress 10 waiting"; '
    "while true; do sleep 0.2; done"
)


def test_replace_cancels_the_active_run_with_sigterm_and_starts_the_new_one(
    sched_operator: OperatorProcess, schedules: Schedules, pod_visible_dir: Path
) -> None:
    # The runs write their markers here: pods run as users of their own, so the folder lets
    # anyone create a file in it (sticky, like /tmp) but not list it.
    tmp_path = pod_visible_dir / "markers"
    tmp_path.mkdir()
    tmp_path.chmod(0o1733)
    schedules.create(
        "replace",
        schedule="*/6 * * * * *",
        concurrencyPolicy="Replace",
        template={"spec": command(TRAPPING, MARKERS=str(tmp_path))},
        failedRunsHistoryLimit=5,
    )

    def running() -> list[dict[str, Any]]:
        return [
            r
            for r in schedules.runs("replace")
            if (r.get("status") or {}).get("phase") == "Running"
            and (r.get("status") or {}).get("progress") == 10
        ]

    first = wait_for(running, 60, "a run with its trap set")[0]["metadata"]["name"]
    second = wait_for(
        lambda: [r for r in running() if r["metadata"]["name"] != first], 60, "the next slot's run"
    )[0]["metadata"]["name"]
    assert second > first  # the later slot
    old = wait_for(
        lambda: (lambda r: r if r["status"]["phase"] == "Cancelled" else None)(
            schedules.custom.get_namespaced_custom_object(
                resource.GROUP, resource.VERSION, schedules.namespace, resource.PLURAL, first
            )
        ),
        30,
        f"{first} cancelled",
    )
    assert old["spec"]["cancel"] is True
    wait_for((tmp_path / first).exists, 30, "SIGTERM to reach the replaced run")
    assert (tmp_path / first).read_text().strip() == "term"
    wait_for(lambda: "RunReplaced" in schedules.event_reasons("replace"), 20, "the Event")
    # Only one run is active at any time.
    status = schedules.status("replace")
    assert status["activeRuns"] == 1


def test_a_production_operator_refuses_a_seconds_field(
    operator_proc: OperatorProcess, op_namespace: str, k8s: Any
) -> None:
    schedules = Schedules(k8s, op_namespace)
    schedules.create("fast", schedule="*/2 * * * * *", template={"spec": command("true")})
    status = schedules.wait_status(
        "fast",
        lambda s: any(c["type"] == "Ready" for c in s.get("conditions") or []),
        "the Ready condition",
    )
    (ready,) = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "SecondsNotEnabled")
    assert "LONGTASK_SCHEDULE_SECONDS" in ready["message"]
    assert "nextScheduleTime" not in status
    wait_for(lambda: "SecondsNotEnabled" in schedules.event_reasons("fast"), 20, "a Warning event")
    assert schedules.runs("fast") == []


def test_the_operator_reports_what_the_schema_let_through(
    operator_proc: OperatorProcess, op_namespace: str, k8s: Any
) -> None:
    schedules = Schedules(k8s, op_namespace)
    schedules.create("never", schedule="0 0 30 2 *", template={"spec": command("true")})
    status = schedules.wait_status(
        "never",
        lambda s: any(c["type"] == "Ready" for c in s.get("conditions") or []),
        "the Ready condition",
    )
    (ready,) = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSchedule")
    assert ready["message"] == "spec.schedule: '0 0 30 2 *': the day-of-month field is invalid"
