"""Reading an attempt's outcome from its Job and pods."""

from __future__ import annotations

from longtask.core.resource import Reason
from longtask.operator import attempts

from tests.fixtures.operator import make_job, make_pod

State = attempts.State


def test_a_new_job_is_waiting_and_needs_no_pods() -> None:
    job = make_job()
    assert attempts.judge(job) == attempts.Verdict(State.WAITING)
    assert not attempts.needs_pods(job)


def test_a_ready_pod_means_running() -> None:
    assert attempts.judge(make_job(active=1, ready=1)).state is State.RUNNING


def test_an_active_pod_not_ready_waits_for_the_job_without_listing_pods() -> None:
    job = make_job(active=1, ready=0)
    assert not attempts.needs_pods(job)
    assert attempts.judge(job).state is State.WAITING
    # Pods listed for another reason still count when they run.
    assert attempts.judge(job, [make_pod(phase="Running")]).state is State.RUNNING


def test_complete_is_success_with_exit_code_0() -> None:
    verdict = attempts.judge(make_job(conditions=[{"type": "Complete"}]))
    assert verdict == attempts.Verdict(State.SUCCEEDED, Reason.COMPLETED, 0, "the runner exited 0")


def test_success_criteria_met_alone_is_not_the_end() -> None:
    job = make_job(conditions=[{"type": "SuccessCriteriaMet"}], active=1, ready=1)
    assert attempts.judge(job).state is State.RUNNING


def test_failure_target_alone_is_not_the_end() -> None:
    job = make_job(conditions=[{"type": "FailureTarget", "reason": "DeadlineExceeded"}], active=1)
    assert attempts.judge(job).state is State.WAITING


def test_deadline_exceeded_is_a_failed_attempt_with_that_reason() -> None:
    job = make_job(conditions=[{"type": "Failed", "reason": "DeadlineExceeded"}])
    verdict = attempts.judge(job)
    assert verdict.state is State.FAILED and verdict.reason is Reason.DEADLINE_EXCEEDED
    assert not verdict.permanent
    assert not attempts.needs_pods(job)


def test_pod_failure_policy_means_exit_code_3_even_without_the_pod() -> None:
    job = make_job(conditions=[{"type": "Failed", "reason": "PodFailurePolicy"}])
    verdict = attempts.judge(job)
    assert verdict.permanent and verdict.exit_code == 3


def test_backoff_limit_exceeded_reads_the_exit_code_from_the_pod() -> None:
    job = make_job(conditions=[{"type": "Failed", "reason": "BackoffLimitExceeded"}], failed=1)
    assert attempts.needs_pods(job)
    verdict = attempts.judge(job, [make_pod(exit_code=1, phase="Failed")])
    assert verdict.state is State.FAILED and verdict.reason is Reason.ATTEMPT_FAILED
    assert verdict.exit_code == 1 and verdict.message == "the runner exited 1"
    assert attempts.judge(job, [make_pod(exit_code=3, phase="Failed")]).permanent
    unknown = attempts.judge(job, [])
    assert unknown.reason is Reason.ATTEMPT_FAILED and unknown.exit_code is None
