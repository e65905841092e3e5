"""The lifecycle decisions: admission, attempts, retries, cancellation, stalls, retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from longtask.core.resource import ConditionType, LongTask, Phase, Reason
from longtask.operator import clock, conditions, reconcile
from longtask.operator.reconcile import JobLookup, Observation
from longtask.operator.settings import Settings

from tests.fixtures.operator import T0, make_job, make_pod, make_task

SETTINGS = Settings()
NOW = T0


def decide_or_need(
    task: LongTask, rand: float = 0.5, **obs: Any
) -> reconcile.Plan | reconcile.Need:
    """The decision on `task` given what is observed (`job=` a Job found, `job_missing=True`)."""
    if "job" in obs:
        obs["job"] = JobLookup(obs["job"])
    if obs.pop("job_missing", False):
        obs["job"] = JobLookup(missing=True)
    return reconcile.decide(
        task, Observation(now=obs.pop("now", NOW), **obs), SETTINGS, lambda: rand
    )


def decide(task: LongTask, rand: float = 0.5, **obs: Any) -> reconcile.Plan:
    decision = decide_or_need(task, rand, **obs)
    assert isinstance(decision, reconcile.Plan), decision
    return decision


def running_task(attempt: int = 1, **spec: Any) -> LongTask:
    started = clock.format_time(NOW - dt.timedelta(seconds=30))
    return make_task(
        spec={"command": ["x"], **spec},
        status={
            "phase": "Running",
            "attempt": attempt,
            "jobName": f"demo-{attempt}",
            "startTime": started,
            "attempts": [
                {"number": n, "jobName": f"demo-{n}", "start": started, "outcome": "Running"}
                for n in range(1, attempt + 1)
            ],
        },
    )


def phases(plan: reconcile.Plan) -> list[tuple[Phase | None, Phase]]:
    return [(t.old, t.new) for t in plan.transitions]


def condition(plan: reconcile.Plan, kind: ConditionType) -> dict[str, Any] | None:
    assert plan.status is not None
    found = conditions.find(plan.status.get("conditions", []), kind)
    return dict(found) if found else None


# Admission ---------------------------------------------------------------------------------


MARKED = reconcile.AccountLookup({"longtask.io/runner": "true"})


def test_a_new_task_of_its_own_account_asks_for_it_the_runners_is_provisioned() -> None:
    own = make_task(spec={"command": ["x"], "serviceAccountName": "mine"})
    assert decide_or_need(own) == reconcile.CheckServiceAccount("mine")
    plan = decide(make_task())  # the runner's account: provisioned before the Job, not read
    assert plan.ensure_runner_account and plan.create_job is not None
    named = make_task(spec={"command": ["x"], "serviceAccountName": "longtask-runner"})
    assert decide(named).ensure_runner_account
    assert not decide(own, service_account=MARKED).ensure_runner_account


def test_accepted_task_creates_attempt_1_and_goes_pending() -> None:
    plan = decide(make_task())
    assert plan.create_job is not None and plan.create_job["metadata"]["name"] == "demo-1"
    assert phases(plan) == [(None, Phase.PENDING)]
    status = plan.status
    assert status is not None
    assert status["phase"] == "Pending" and status["attempt"] == 1 and status["jobName"] == "demo-1"
    assert status["attempts"] == [
        {"number": 1, "jobName": "demo-1", "start": clock.format_time(NOW), "outcome": "Running"}
    ]
    assert status["observedGeneration"] == 1
    assert plan.events == []  # the status and the Job tell it: no Event (reconcile.QUIET)


def test_refused_task_fails_with_the_reason_and_creates_no_job() -> None:
    task = make_task(spec={"command": ["x"], "params": {"big": "x" * 70_000}})
    plan = decide(task)  # nothing to look up: the spec alone is refused
    assert plan.create_job is None
    assert phases(plan) == [(None, Phase.FAILED)]
    assert plan.status is not None and plan.status["reason"] == "InvalidSpec"
    assert "spec.params: 68.4 KiB of JSON" in str(plan.status["message"])
    failed = condition(plan, ConditionType.FAILED)
    assert failed is not None and failed["status"] == "True" and failed["reason"] == "InvalidSpec"
    assert plan.events[0].type == "Warning"
    assert plan.deadletter is None


def refusal(plan: reconcile.Plan) -> str:
    assert plan.create_job is None and phases(plan) == [(None, Phase.FAILED)]
    assert plan.status is not None and plan.status["reason"] == "InvalidSpec"
    return str(plan.status["message"])


def test_a_missing_service_account_refuses_the_task() -> None:
    task = make_task(spec={"command": ["x"], "serviceAccountName": "gone"})
    missing = reconcile.AccountLookup(None)
    assert "service account 'gone' does not exist" in refusal(decide(task, service_account=missing))


def test_a_service_account_not_marked_for_longtask_refuses_the_task() -> None:
    task = make_task(spec={"command": ["x"], "serviceAccountName": "reads-secrets"})
    unmarked = reconcile.AccountLookup({"app": "x"})
    message = refusal(decide(task, service_account=unmarked))
    assert (
        "spec.serviceAccountName: service account 'reads-secrets' of namespace 'ns' is " in message
    )
    assert "not marked for longtask use" in message
    assert isinstance(decide(task, service_account=MARKED).create_job, dict)


def test_a_foreign_image_refuses_the_task_without_lookups() -> None:
    task = make_task(spec={"command": ["x"], "image": "evil.example.com/miner:1"})
    message = refusal(decide(task))
    assert "spec.image: 'evil.example.com/miner:1' is not an allowed image" in message
    assert "(allowed: docker.io/longtask/*)" in message  # the default runner image's path
    beside = make_task(spec={"command": ["x"], "image": "longtask/custom:2"})
    assert decide(beside).create_job is not None


def test_images_allowed_by_the_settings() -> None:
    settings = Settings(allowed_images=("registry.example.com/team/*",))
    task = make_task(spec={"command": ["x"], "image": "registry.example.com/team/app:1"})
    plan = reconcile.decide(task, Observation(now=NOW), settings)
    assert isinstance(plan, reconcile.Plan) and plan.create_job is not None
    runner = make_task(spec={"command": ["x"], "image": "longtask/runner:0.1.0"})
    refused = reconcile.decide(runner, Observation(now=NOW), settings)
    assert isinstance(refused, reconcile.Plan) and refused.create_job is None


def test_a_namespace_outside_the_selector_refuses_the_task_saying_how_to_enable_it() -> None:
    settings = Settings(namespace_selector={"matchLabels": {"longtask.io/enabled": "true"}})
    task = make_task()
    asked = reconcile.decide(task, Observation(now=NOW), settings)
    assert asked == reconcile.ReadNamespace("ns")
    plan = reconcile.decide(task, Observation(now=NOW, namespace_labels={}), settings)
    assert isinstance(plan, reconcile.Plan)
    assert "namespace 'ns' is not enabled for longtask: an admin enables it with " in refusal(plan)
    assert "`kubectl label namespace ns longtask.io/enabled=true`" in refusal(plan)
    enabled = Observation(now=NOW, namespace_labels={"longtask.io/enabled": "true"})
    started = reconcile.decide(task, enabled, settings)
    assert isinstance(started, reconcile.Plan) and started.create_job is not None


def test_task_cancelled_before_start_never_gets_a_job() -> None:
    task = make_task(spec={"command": ["x"], "cancel": True})
    plan = decide(task)
    assert plan.create_job is None and phases(plan) == [(None, Phase.CANCELLED)]


def test_a_deleting_task_is_left_alone() -> None:
    task = make_task()
    task["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert decide(task).empty


# Attempt progress --------------------------------------------------------------------------


def pending_task() -> LongTask:
    task = running_task()
    task["status"]["phase"] = "Pending"
    del task["status"]["startTime"]
    return task


def test_pending_with_a_waiting_job_does_nothing_and_polls_nothing() -> None:
    assert decide(pending_task(), job=make_job()).empty
    plan = decide(pending_task(), job=make_job(active=1), pods=[make_pod(phase="Pending")])
    assert plan.empty and plan.requeue_after is None


def test_running_pod_moves_pending_to_running_and_sets_start_time() -> None:
    plan = decide(pending_task(), job=make_job(active=1, ready=1))
    assert phases(plan) == [(Phase.PENDING, Phase.RUNNING)]
    assert plan.status is not None and plan.status["startTime"] == clock.format_time(NOW)
    running = condition(plan, ConditionType.RUNNING)
    assert running is not None and running["status"] == "True"


def test_running_is_stable_and_writes_nothing() -> None:
    assert decide(running_task(), job=make_job(active=1, ready=1)).empty


def test_completion_succeeds_keeps_runner_progress_and_records_the_attempt() -> None:
    task = running_task()
    task["status"]["progress"] = 87
    plan = decide(task, job=make_job(conditions=[{"type": "Complete"}]))
    assert phases(plan) == [(Phase.RUNNING, Phase.SUCCEEDED)]
    status = plan.status
    assert status is not None
    assert "progress" not in status  # the runner's value stays
    assert status["completionTime"] == clock.format_time(NOW)
    assert status["attempts"][-1] | {} == {
        "number": 1,
        "jobName": "demo-1",
        "start": task["status"]["attempts"][0]["start"],
        "finish": clock.format_time(NOW),
        "outcome": "Succeeded",
        "reason": "Completed",
        "exitCode": 0,
        "message": "the runner exited 0",
    }
    succeeded = condition(plan, ConditionType.SUCCEEDED)
    assert succeeded is not None and succeeded["status"] == "True"
    running = condition(plan, ConditionType.RUNNING)
    assert running is not None and running["status"] == "False"


def test_fast_success_passes_through_running_and_sets_progress_100() -> None:
    plan = decide(pending_task(), job=make_job(conditions=[{"type": "Complete"}]))
    assert phases(plan) == [(Phase.PENDING, Phase.RUNNING), (Phase.RUNNING, Phase.SUCCEEDED)]
    assert plan.status is not None and plan.status["progress"] == 100
    assert plan.status["phase"] == "Succeeded"


def test_retryable_failure_schedules_the_next_attempt_with_jittered_backoff() -> None:
    task = running_task(retry={"maxAttempts": 3, "backoff": {"initialSeconds": 10, "factor": 2}})
    job = make_job(conditions=[{"type": "Failed", "reason": "BackoffLimitExceeded"}], failed=1)
    plan = decide(task, rand=0.25, job=job, pods=[make_pod(exit_code=1, phase="Failed")])
    assert phases(plan) == [(Phase.RUNNING, Phase.RETRYING)]
    assert plan.status is not None
    assert plan.status["nextAttemptTime"] == clock.format_time(NOW + dt.timedelta(seconds=2.5))
    assert plan.requeue_after == 2.5
    record = plan.status["attempts"][-1]
    assert record["outcome"] == "Failed" and record["exitCode"] == 1
    assert record["reason"] == "AttemptFailed"
    assert plan.create_job is None and plan.deadletter is None


def test_retrying_waits_until_the_next_attempt_time() -> None:
    task = running_task()
    task["status"]["phase"] = "Retrying"
    task["status"]["nextAttemptTime"] = clock.format_time(NOW + dt.timedelta(seconds=7))
    plan = decide(task, job=None)
    assert plan.empty and plan.requeue_after == pytest.approx(7.0)


def test_retrying_starts_the_next_attempt_when_due() -> None:
    task = running_task()
    task["status"]["phase"] = "Retrying"
    task["status"]["attempts"][0].update({"outcome": "Failed", "finish": "x"})
    task["status"]["nextAttemptTime"] = clock.format_time(NOW - dt.timedelta(seconds=1))
    plan = decide(task, job=None)
    assert plan.create_job is not None and plan.create_job["metadata"]["name"] == "demo-2"
    assert phases(plan) == [(Phase.RETRYING, Phase.PENDING)]
    assert plan.status is not None
    assert plan.status["attempt"] == 2 and plan.status["nextAttemptTime"] is None
    assert [a["number"] for a in plan.status["attempts"]] == [1, 2]


def test_a_new_attempt_drops_the_message_of_the_previous_one() -> None:
    task = running_task()
    task["status"]["phase"] = "Retrying"
    task["status"]["message"] = "the command exited with code 1"
    task["status"]["nextAttemptTime"] = clock.format_time(NOW - dt.timedelta(seconds=1))
    plan = decide(task, job=None)
    assert plan.status is not None
    assert "message" in plan.status and plan.status["message"] is None  # deleted by the patch


def test_exit_code_3_fails_at_once_without_dead_letter() -> None:
    job = make_job(conditions=[{"type": "Failed", "reason": "PodFailurePolicy"}])
    plan = decide(running_task(), job=job)
    assert phases(plan) == [(Phase.RUNNING, Phase.FAILED)]
    assert plan.status is not None and plan.status["reason"] == "PermanentFailure"
    assert plan.status["attempts"][-1]["exitCode"] == 3
    assert plan.deadletter is None
    assert condition(plan, ConditionType.DEAD_LETTERED) is None


def test_exhausted_attempts_fail_and_dead_letter() -> None:
    task = running_task(attempt=3, retry={"maxAttempts": 3})
    job = make_job("demo-3", conditions=[{"type": "Failed", "reason": "BackoffLimitExceeded"}])
    plan = decide(task, job=job, pods=[make_pod(exit_code=1, phase="Failed")])
    assert phases(plan) == [(Phase.RUNNING, Phase.FAILED)]
    assert plan.status is not None and plan.status["reason"] == "AttemptsExhausted"
    dead = condition(plan, ConditionType.DEAD_LETTERED)
    assert dead is not None and dead["status"] == "True"
    assert plan.deadletter is not None
    assert plan.deadletter["uid"] == "uid-1" and plan.deadletter["attempts"] == 3
    assert plan.deadletter["error"] == "the runner exited 1"


def test_deadline_is_a_retryable_failed_attempt() -> None:
    job = make_job(conditions=[{"type": "Failed", "reason": "DeadlineExceeded", "message": "m"}])
    plan = decide(running_task(timeoutSeconds=5), job=job)
    assert phases(plan) == [(Phase.RUNNING, Phase.RETRYING)]
    assert plan.status is not None
    assert plan.status["attempts"][-1]["reason"] == "DeadlineExceeded"


def test_a_timeout_reads_as_a_timeout_in_the_final_message() -> None:
    job = make_job(conditions=[{"type": "Failed", "reason": "DeadlineExceeded", "message": "m"}])
    task = running_task(timeoutSeconds=5, retry={"maxAttempts": 1})
    task["status"]["message"] = "terminated by SIGTERM"  # all the runner could tell
    plan = decide(task, job=job)
    assert phases(plan) == [(Phase.RUNNING, Phase.FAILED)]
    assert plan.status is not None
    assert plan.status["message"] == "attempt 1 timed out after 5s (DeadlineExceeded)"
    assert plan.transitions[-1].message.startswith("attempt 1 timed out after 5s")
    assert plan.status["attempts"][-1]["reason"] == "DeadlineExceeded"


def test_a_vanished_job_is_a_lost_attempt() -> None:
    plan = decide(running_task(), job_missing=True)
    assert phases(plan) == [(Phase.RUNNING, Phase.RETRYING)]
    assert plan.status is not None and plan.status["attempts"][-1]["reason"] == "PodLost"


def test_an_attempt_asks_for_its_job_then_for_pods_only_when_the_job_cannot_tell() -> None:
    assert decide_or_need(running_task(2)) == reconcile.LookUpJob("demo-2", confirm=True)
    failed = make_job("demo-2", conditions=[{"type": "Failed", "reason": "BackoffLimitExceeded"}])
    assert decide_or_need(running_task(2), job=failed) == reconcile.ListPods("demo-2")
    running = make_job("demo-2", active=1, ready=1)
    assert isinstance(decide_or_need(running_task(2), job=running), reconcile.Plan)


def test_a_job_of_an_older_namesake_requeues_without_writing() -> None:
    plan = decide(running_task(), job=None)  # looked up: the name is taken by another task's Job
    assert plan.empty and plan.requeue_after == 1.0


# Cancellation ------------------------------------------------------------------------------


def test_cancel_while_running_deletes_the_job_and_ends_cancelled() -> None:
    plan = decide(running_task(cancel=True), job=make_job(active=1, ready=1))
    assert plan.delete_job == "demo-1" and plan.create_job is None
    assert phases(plan) == [(Phase.RUNNING, Phase.CANCELLED)]
    assert plan.status is not None and plan.status["attempts"][-1]["outcome"] == "Cancelled"
    cancelled = condition(plan, ConditionType.CANCELLED)
    assert cancelled is not None and cancelled["status"] == "True"


def test_cancel_during_backoff_creates_no_job() -> None:
    task = running_task(cancel=True)
    task["status"]["phase"] = "Retrying"
    task["status"]["nextAttemptTime"] = clock.format_time(NOW - dt.timedelta(seconds=1))
    plan = decide(task, job=None)
    assert plan.create_job is None and plan.delete_job is None
    assert phases(plan) == [(Phase.RETRYING, Phase.CANCELLED)]


def test_an_ended_attempt_looks_for_its_job_in_the_store_only() -> None:
    task = running_task()
    for phase in ("Cancelled", "Succeeded", "Failed", "Retrying"):
        task["status"]["phase"] = phase
        assert decide_or_need(task) == reconcile.LookUpJob("demo-1", confirm=False)
    task["status"]["phase"] = "Succeeded"
    assert decide(task, job=None).empty


def test_cancelled_task_whose_job_survived_a_crash_deletes_it() -> None:
    task = running_task(cancel=True)
    task["status"]["phase"] = "Cancelled"
    plan = decide(task, job=make_job(active=1, ready=1))
    assert plan.delete_job == "demo-1" and plan.status is None


# A status that contradicts the Job (written by someone else) ---------------------------------


def forged(phase: str, **spec: Any) -> LongTask:
    """A running task whose phase someone else set, with a matching condition and end time."""
    task = running_task(**spec)
    task["status"]["phase"] = phase
    task["status"]["completionTime"] = clock.format_time(NOW)
    task["status"]["conditions"] = [
        {"type": phase, "status": "True", "reason": "Forged", "message": "forged"}
    ]
    return task


def repairs(plan: reconcile.Plan) -> list[str]:
    return [e.message for e in plan.events if e.reason is Reason.STATUS_REPAIRED]


def test_a_phase_ending_a_running_attempt_is_repaired_from_the_job() -> None:
    plan = decide(forged("Succeeded"), job=make_job(active=1, ready=1))
    assert phases(plan) == [(Phase.SUCCEEDED, Phase.RUNNING)]
    assert repairs(plan) == [
        "status.phase was Succeeded but Job demo-1 is still running: "
        "the status is restored from the Job"
    ]
    assert all(e.type == reconcile.WARNING for e in plan.events)
    assert plan.status is not None and plan.status["completionTime"] is None
    assert plan.status["result"] is None and plan.status["resultRef"] is None
    succeeded = condition(plan, ConditionType.SUCCEEDED)
    running = condition(plan, ConditionType.RUNNING)
    assert succeeded is not None and succeeded["status"] == "False"
    assert running is not None and running["status"] == "True"
    assert plan.create_job is None and plan.delete_job is None


def test_a_phase_ending_an_attempt_whose_pod_waits_goes_back_to_pending() -> None:
    plan = decide(forged("Failed"), job=make_job(active=1))
    assert phases(plan) == [(Phase.FAILED, Phase.PENDING)]
    assert len(repairs(plan)) == 1


def test_a_forged_failure_of_a_succeeded_attempt_ends_succeeded() -> None:
    plan = decide(forged("Failed"), job=make_job(conditions=[{"type": "Complete"}]))
    assert phases(plan) == [(Phase.FAILED, Phase.SUCCEEDED)]
    assert len(repairs(plan)) == 1
    failed = condition(plan, ConditionType.FAILED)
    succeeded = condition(plan, ConditionType.SUCCEEDED)
    assert failed is not None and failed["status"] == "False"
    assert succeeded is not None and succeeded["status"] == "True"
    assert plan.status is not None and plan.status["attempts"][-1]["outcome"] == "Succeeded"


def test_a_forged_success_of_a_failed_attempt_retries_it() -> None:
    task = forged("Succeeded")
    job = make_job(conditions=[{"type": "Failed", "reason": "BackoffLimitExceeded"}])
    assert decide_or_need(task, job=job) == reconcile.ListPods("demo-1")
    plan = decide(task, job=job, pods=[make_pod(exit_code=1, phase="Failed")])
    assert phases(plan) == [(Phase.SUCCEEDED, Phase.RETRYING)]
    assert len(repairs(plan)) == 1


def test_a_forged_retry_of_a_running_attempt_starts_no_second_job() -> None:
    task = forged("Retrying")
    task["status"]["nextAttemptTime"] = clock.format_time(NOW - dt.timedelta(seconds=1))
    plan = decide(task, job=make_job(active=1, ready=1))
    assert plan.create_job is None
    assert phases(plan) == [(Phase.RETRYING, Phase.RUNNING)]
    assert plan.status is not None and plan.status["nextAttemptTime"] is None


def test_a_forged_cancellation_of_a_running_attempt_is_repaired_unless_requested() -> None:
    running = make_job(active=1, ready=1)
    assert phases(decide(forged("Cancelled"), job=running)) == [(Phase.CANCELLED, Phase.RUNNING)]
    requested = decide(forged("Cancelled", cancel=True), job=running)
    assert requested.delete_job == "demo-1" and repairs(requested) == []


@pytest.mark.parametrize(
    ("phase", "job"),
    [
        ("Succeeded", make_job(conditions=[{"type": "Complete"}])),
        ("Failed", make_job(conditions=[{"type": "Failed", "reason": "BackoffLimitExceeded"}])),
        ("Retrying", make_job(conditions=[{"type": "Failed", "reason": "DeadlineExceeded"}])),
        ("Cancelled", make_job(conditions=[{"type": "Complete"}])),
        ("Succeeded", None),  # the Job is gone (its TTL): nothing to compare with
    ],
)
def test_a_status_that_agrees_with_its_job_is_left_alone(
    phase: str, job: dict[str, Any] | None
) -> None:
    task = forged(phase)
    task["status"]["nextAttemptTime"] = clock.format_time(NOW + dt.timedelta(seconds=5))
    plan = decide(task, job=job)
    assert plan.status is None and plan.events == []


def test_a_job_being_deleted_says_nothing_about_the_phase() -> None:
    job = make_job(active=1, ready=1)
    job["metadata"]["deletionTimestamp"] = clock.format_time(NOW)
    plan = decide(forged("Succeeded"), job=job)
    assert plan.status is None and plan.events == []


# Stalls ------------------------------------------------------------------------------------


def ms_ago(seconds: float) -> int:
    return clock.to_ms(NOW - dt.timedelta(seconds=seconds))


def test_old_heartbeat_marks_stalled_and_fresh_one_clears_it() -> None:
    task = running_task(stallSeconds=10)
    task["status"]["attempts"][0]["start"] = clock.format_time(NOW - dt.timedelta(minutes=5))
    job = make_job(active=1, ready=1)
    plan = decide(task, job=job, heartbeat_ms=ms_ago(11))
    stalled = condition(plan, ConditionType.STALLED)
    assert (
        stalled is not None and stalled["status"] == "True" and stalled["reason"] == "NoHeartbeat"
    )
    assert plan.stalled is True and plan.transitions == []
    assert plan.events[0].type == "Warning"
    assert plan.status is not None
    task["status"]["conditions"] = plan.status["conditions"]
    assert decide(task, job=job, heartbeat_ms=ms_ago(12)).empty
    cleared = decide(task, job=job, heartbeat_ms=ms_ago(1))
    resumed = condition(cleared, ConditionType.STALLED)
    assert resumed is not None and resumed["status"] == "False"
    assert resumed["reason"] == "HeartbeatResumed" and cleared.stalled is False


def test_no_heartbeat_yet_counts_from_the_attempt_start() -> None:
    task = running_task(stallSeconds=60)  # attempt started 30 s ago
    assert decide(task, job=make_job(active=1, ready=1), heartbeat_ms=0).empty
    assert not decide(
        task, job=make_job(active=1, ready=1), heartbeat_ms=0, now=NOW + dt.timedelta(seconds=31)
    ).empty


def test_silence_counts_from_when_the_attempt_was_seen_running() -> None:
    task = running_task(stallSeconds=10)
    task["status"]["attempts"][0]["start"] = clock.format_time(NOW - dt.timedelta(minutes=5))
    task["status"]["conditions"] = [
        {
            "type": "Running",
            "status": "True",
            "lastTransitionTime": clock.format_time(NOW - dt.timedelta(seconds=3)),
        }
    ]
    assert decide(task, job=make_job(active=1, ready=1), heartbeat_ms=0).empty
    later = NOW + dt.timedelta(seconds=8)
    assert not decide(task, job=make_job(active=1, ready=1), heartbeat_ms=0, now=later).empty


def test_unknown_heartbeat_changes_nothing() -> None:
    task = running_task(stallSeconds=10)
    assert decide(task, job=make_job(active=1, ready=1), heartbeat_ms=None).empty


def test_ending_clears_stalled() -> None:
    task = running_task()
    task["status"]["conditions"] = [{"type": "Stalled", "status": "True", "reason": "NoHeartbeat"}]
    plan = decide(task, job=make_job(conditions=[{"type": "Complete"}]))
    stalled = condition(plan, ConditionType.STALLED)
    assert stalled is not None and stalled["status"] == "False" and plan.stalled is False


# Retention ---------------------------------------------------------------------------------


def finished_task(ttl: int | None, ended_ago: float) -> LongTask:
    spec: dict[str, Any] = {"command": ["x"]}
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    return make_task(
        spec=spec,
        status={
            "phase": "Succeeded",
            "attempt": 1,
            "completionTime": clock.format_time(NOW - dt.timedelta(seconds=ended_ago)),
        },
    )


def test_finished_task_without_ttl_is_kept() -> None:
    plan = decide(finished_task(None, 1000), job=None)
    assert plan.empty and plan.requeue_after is None


def test_finished_task_is_deleted_after_its_ttl() -> None:
    waiting = decide(finished_task(60, 20), job=None)
    assert not waiting.delete_task and waiting.requeue_after == pytest.approx(40)
    assert decide(finished_task(60, 61), job=None).delete_task


def test_finishing_with_ttl_requeues_for_deletion() -> None:
    task = running_task(ttlSecondsAfterFinished=5)
    plan = decide(task, job=make_job(conditions=[{"type": "Complete"}]))
    assert plan.requeue_after == 5.0


def test_decide_is_deterministic_for_the_same_input() -> None:
    job = make_job(conditions=[{"type": "Failed", "reason": "DeadlineExceeded"}])
    assert decide(running_task(), job=job) == decide(running_task(), job=job)
