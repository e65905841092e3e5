"""The lifecycle of a LongTask as a pure function: (task, observation) → plan, or what to observe.

`decide` is level-triggered: it looks at the task's recorded status and at what is observed now
(the current attempt's Job, its pods when needed, the heartbeat) and returns what to do. Running
it twice on the same input gives the same plan, and every effect it asks for is idempotent
(deterministic Job names, merge patches), so a restarted operator simply decides again.

A finished task's TTL deletion waits until its record is in the history (when the history is
on): a task is never deleted before the archive holds it.

The lifecycle is dispatched on the phase here only. When a step needs something the controller
has not observed yet (a service account, the current attempt's Job, its pods) `decide` returns
that `Need` instead of a plan; the controller observes it and decides again with the richer
observation. So the question of what to look at is answered by the code that uses the answer.

Order of effects (the controller's job): delete Job, create Job, patch status, then Events, Redis
and metrics. A Job is created before the status records its attempt, so a crash in between
recreates the same Job name (AlreadyExists) instead of a second Job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from longtask.core import admission, deadletters, resource, taskqueue
from longtask.core.resource import AttemptRecord, ConditionType, LongTask, Phase, Reason

from . import attempts, backoff, clock, conditions, jobs, kueue, provisioning, queueing
from .settings import Settings

NORMAL = "Normal"
WARNING = "Warning"

QUIET = frozenset({Reason.JOB_CREATED, Reason.POD_RUNNING})
"""Steps that post no Kubernetes Event: the status (phase, conditions, attempts), the task's
stream and the Job's and pod's own Events tell them already, and an Event each was a third of
the writes of admitting a task. Every Warning, outcome, retry, queueing and Kueue wait still
posts one."""


@dataclasses.dataclass(frozen=True)
class JobLookup:
    """The current attempt's Job, as the controller looked it up."""

    job: Mapping[str, Any] | None = None
    """The Job, when it exists and belongs to this task."""
    missing: bool = False
    """Confirmed with the API server: no Job of that name exists."""


@dataclasses.dataclass(frozen=True)
class AccountLookup:
    """A service account, as the controller looked it up."""

    labels: Mapping[str, str] | None
    """Its labels; None when it does not exist."""


@dataclasses.dataclass(frozen=True)
class QueueLookup:
    """The task's queue, as the controller looked it up (holding the queue's admission lock)."""

    spec: taskqueue.QueueSpec | None
    """The queue's spec; None when no such queue exists (the task starts at once)."""
    verdict: queueing.Verdict | None = None
    """The task's place; None when it does not wait (admitted already)."""


@dataclasses.dataclass(frozen=True)
class Observation:
    """What the controller saw for one task; None marks what it has not looked at."""

    now: dt.datetime
    heartbeat_ms: int | None = None
    """Last heartbeat in Redis (unix ms); 0 = none yet; None = unknown (no Redis, not read)."""
    service_account: AccountLookup | None = None
    """A new task's service account (see CheckServiceAccount)."""
    namespace_labels: Mapping[str, str] | None = None
    """A new task's namespace's labels (see ReadNamespace)."""
    job: JobLookup | None = None
    """The current attempt's Job (see LookUpJob)."""
    pods: Sequence[Mapping[str, Any]] | None = None
    """The current attempt's pods (see ListPods)."""
    archived: bool | None = None
    """Whether the history holds the task's record (see CheckArchived)."""
    queue: QueueLookup | None = None
    """The task's queue and its verdict (see AskQueue)."""


@dataclasses.dataclass(frozen=True)
class CheckServiceAccount:
    """Need: the service account a new task would run as (one other than the runner's)."""

    name: str


@dataclasses.dataclass(frozen=True)
class ReadNamespace:
    """Need: the labels of a new task's namespace (when a namespace selector is set)."""

    name: str


@dataclasses.dataclass(frozen=True)
class LookUpJob:
    """Need: the current attempt's Job, from the store; when the store has no Job of this
    task's under that name and `confirm` is set, from the API server."""

    name: str
    confirm: bool


@dataclasses.dataclass(frozen=True)
class ListPods:
    """Need: the pods of the current attempt's Job (when the Job alone cannot tell)."""

    job_name: str


@dataclasses.dataclass(frozen=True)
class CheckArchived:
    """Need: whether the history holds the record of this finished task."""

    uid: str


@dataclasses.dataclass(frozen=True)
class AskQueue:
    """Need: the task's queue and whether it admits the task now (queueing.py)."""

    name: str


Need = CheckServiceAccount | ReadNamespace | LookUpJob | ListPods | CheckArchived | AskQueue

# How long a TTL deletion held for the archive waits before looking again (the archiver also
# queues the task the moment its record is committed, so this is only a backstop).
ARCHIVE_RECHECK_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class Transition:
    old: Phase | None
    new: Phase
    reason: Reason
    message: str
    attempt: int


@dataclasses.dataclass(frozen=True)
class KubeEvent:
    type: str
    reason: Reason
    message: str


@dataclasses.dataclass
class Plan:
    """Effects to apply, in the order of the fields."""

    delete_job: str | None = None
    ensure_runner_account: bool = False
    """Provision the runner's account in the task's namespace before the Job (see provisioner)."""
    create_job: dict[str, Any] | None = None
    status: resource.Status | None = None
    transitions: list[Transition] = dataclasses.field(default_factory=list)
    events: list[KubeEvent] = dataclasses.field(default_factory=list)
    deadletter: deadletters.DeadLetter | None = None
    stalled: bool | None = None
    """New value of the Stalled condition, when it changed."""
    archive: bool = False
    """Hand the task (finished, its record not in the history yet) to the archiver."""
    admitted_by: str | None = None
    """The queue that admitted the attempt this plan starts (None: no queue, or none exists)."""
    delete_task: bool = False
    requeue_after: float | None = None

    @property
    def empty(self) -> bool:
        return not (self.delete_job or self.create_job or self.status or self.delete_task)


def phase_of(task: LongTask) -> Phase | None:
    return resource.phase_of(task.get("status") or {})


def current_attempt(task: LongTask) -> int:
    return int((task.get("status") or {}).get("attempt") or 0)


class _Draft:
    """Accumulates one status patch and its plan while `decide` walks the lifecycle."""

    def __init__(self, task: LongTask, obs: Observation, settings: Settings) -> None:
        self.task = task
        self.settings = settings
        self.meta = task["metadata"]
        self.spec = task["spec"]
        self.status: resource.Status = task.get("status") or {}
        self.obs = obs
        self.phase = phase_of(task)
        self.attempt = current_attempt(task)
        self.patch = resource.Status()
        self.plan = Plan()

    # Built on first use: a decision that only asks for an observation needs none of them.

    @functools.cached_property
    def now(self) -> str:
        return clock.format_time(self.obs.now)

    @functools.cached_property
    def conditions(self) -> list[resource.Condition]:
        return [c.copy() for c in self.status.get("conditions") or []]

    @functools.cached_property
    def records(self) -> list[AttemptRecord]:
        return [a.copy() for a in self.status.get("attempts") or []]

    @property
    def job_name(self) -> str:
        """The current attempt's Job (named deterministically from the task and the attempt)."""
        return jobs.job_name(self.meta["name"], self.attempt)

    @property
    def allowed_attempts(self) -> int:
        """retry.maxAttempts, plus the attempts Kueue preempted (they are not the task's fault)."""
        return backoff.max_attempts(self.spec) + kueue.preemptions(self.records)

    @property
    def generation(self) -> int | None:
        gen = self.meta.get("generation")
        return int(gen) if gen is not None else None

    def condition(self, kind: ConditionType, status: bool, reason: Reason, message: str) -> None:
        self.conditions = conditions.set_condition(
            self.conditions, kind, status, reason, message, self.generation, self.now
        )
        self.patch["conditions"] = self.conditions

    def move(self, new: Phase, reason: Reason, message: str, event_type: str = NORMAL) -> None:
        self.plan.transitions.append(Transition(self.phase, new, reason, message, self.attempt))
        if reason not in QUIET or event_type != NORMAL:
            self.plan.events.append(KubeEvent(event_type, reason, message))
        self.patch |= resource.Status(phase=new.value, reason=reason.value)
        self.phase = new

    def end_attempt(self, outcome: resource.AttemptOutcome, verdict: attempts.Verdict) -> None:
        if not self.records or self.records[-1].get("number") != self.attempt:
            self.records.append(AttemptRecord(number=self.attempt, jobName=self.job_name))
        record = self.records[-1]
        record |= AttemptRecord(finish=self.now, outcome=outcome.value)
        if verdict.reason is not None:
            record["reason"] = verdict.reason.value
        if verdict.exit_code is not None:
            record["exitCode"] = verdict.exit_code
        if verdict.message:
            record["message"] = verdict.message[: resource.MESSAGE_MAX_CHARS]
        self.patch["attempts"] = self.records

    def start_attempt(
        self, number: int, settings: Settings, queue: QueueLookup | None = None
    ) -> None:
        labels: dict[str, str] = {}
        if queue is not None and queue.spec is not None:
            name = self.spec.get("queue", "")
            labels = jobs.queue_labels(name, taskqueue.task_key(self.task, queue.spec))
            self.plan.admitted_by = name
            self.condition(
                ConditionType.ADMITTED, True, Reason.ADMITTED, f"admitted by queue {name}"
            )
            if self.status.get("queuePosition") is not None:
                self.patch["queuePosition"] = None
        local_queue = kueue.local_queue(self.task, settings)
        if local_queue is not None:
            labels |= kueue.job_labels(self.task, local_queue)
        job = jobs.build_job(self.task, number, settings, labels, suspend=local_queue is not None)
        name = job["metadata"]["name"]
        self.attempt = number
        running = resource.AttemptOutcome.RUNNING.value
        self.records.append(
            AttemptRecord(number=number, jobName=name, start=self.now, outcome=running)
        )
        self.patch |= resource.Status(
            attempt=number, jobName=name, attempts=self.records, nextAttemptTime=None
        )
        if number > 1 and self.status.get("message") is not None:
            # The message belongs to the attempt that wrote it: a new attempt starts without.
            self.patch["message"] = None
        message = f"attempt {number} of {self.allowed_attempts}: created Job {name}"
        self.condition(ConditionType.RUNNING, False, Reason.JOB_CREATED, message)
        if local_queue is None:
            self.move(Phase.PENDING, Reason.JOB_CREATED, message)
        else:
            waiting = kueue.waiting_message(local_queue)
            self.condition(ConditionType.ADMITTED, False, Reason.WAITING_FOR_KUEUE, waiting)
            self.move(Phase.PENDING, Reason.WAITING_FOR_KUEUE, f"{message}, {waiting}")
        self.plan.create_job = job
        account = jobs.service_account(self.spec, settings)
        self.plan.ensure_runner_account = account == settings.runner_service_account

    def mark_running(self) -> None:
        if not self.status.get("startTime"):
            self.patch["startTime"] = self.now
        message = f"attempt {self.attempt} is running"
        self.condition(ConditionType.RUNNING, True, Reason.POD_RUNNING, message)
        self.move(Phase.RUNNING, Reason.POD_RUNNING, message)

    def finish(self, phase: Phase, reason: Reason, message: str, event_type: str = NORMAL) -> None:
        self.patch |= resource.Status(completionTime=self.now, nextAttemptTime=None)
        self.condition(ConditionType.RUNNING, False, reason, message)
        kind = {
            Phase.SUCCEEDED: ConditionType.SUCCEEDED,
            Phase.FAILED: ConditionType.FAILED,
            Phase.CANCELLED: ConditionType.CANCELLED,
        }[phase]
        self.condition(kind, True, reason, message)
        if conditions.is_true(self.conditions, ConditionType.STALLED):
            self.condition(ConditionType.STALLED, False, reason, "the task ended")
            self.plan.stalled = False
        self.move(phase, reason, message, event_type)
        ttl = self.spec.get("ttlSecondsAfterFinished")
        if ttl is not None:
            self.plan.requeue_after = float(ttl)
        self.plan.archive = self.settings.history.enabled

    def result(self) -> Plan:
        if self.patch:
            self.patch["observedGeneration"] = self.generation
            self.plan.status = self.patch
        return self.plan


def decide(
    task: LongTask,
    obs: Observation,
    settings: Settings,
    rand: Callable[[], float] = random.random,
) -> Plan | Need:
    """The plan that moves `task` one step along its lifecycle, given what was observed; or
    what must be observed first."""
    draft = _Draft(task, obs, settings)
    if draft.meta.get("deletionTimestamp"):
        return Plan()  # owner references remove the Jobs; nothing to record on a dying object
    need: Need | None = None
    if draft.phase is None:
        need = _admit(draft, settings)
    elif draft.phase is Phase.QUEUED:
        need = _queued(draft, settings)
    elif draft.phase.is_final or draft.phase is Phase.RETRYING:
        need = _ended(draft, settings, rand)
    else:
        need = _attempting(draft, settings, rand)
    return draft.result() if need is None else need


def _cancel_requested(draft: _Draft) -> bool:
    return bool(draft.spec.get("cancel"))


def _admit(draft: _Draft, settings: Settings) -> Need | None:
    namespace = draft.meta["namespace"]
    problems = [str(p) for p in admission.problems(draft.spec)]
    image = admission.image_problem(draft.spec.get("image"), settings.image_patterns)
    if image is not None:
        problems.append(str(image))
    selector = settings.namespace_selector
    if not problems and selector:  # lookups only for an otherwise acceptable spec
        labels = draft.obs.namespace_labels
        if labels is None:
            return ReadNamespace(namespace)
        if not provisioning.selects(selector, labels):
            hint = provisioning.enable_hint(namespace, selector)
            problems.append(
                f"namespace {namespace!r} is not enabled for longtask: an admin enables it "
                f"with {hint}"
            )
    account = jobs.service_account(draft.spec, settings)
    if not problems and account != settings.runner_service_account:
        found = draft.obs.service_account
        if found is None:
            return CheckServiceAccount(account)
        problem = admission.service_account_problem(account, namespace, found.labels)
        if problem is not None:
            problems.append(str(problem))
    if problems:
        message = "refused: " + "; ".join(problems)
        draft.patch["message"] = message[: resource.MESSAGE_MAX_CHARS]
        draft.finish(Phase.FAILED, Reason.INVALID_SPEC, message, WARNING)
    elif _cancel_requested(draft):
        draft.finish(Phase.CANCELLED, Reason.CANCEL_REQUESTED, "cancelled before it started")
    else:
        return _start_when_admitted(draft, settings, 1)
    return None


def _start_when_admitted(draft: _Draft, settings: Settings, number: int) -> Need | None:
    """Start attempt `number` if the task's queue admits it (or it has none); else queue it."""
    name = draft.spec.get("queue")
    if not name:
        draft.start_attempt(number, settings)
        return None
    if draft.obs.queue is None:
        return AskQueue(name)
    verdict = draft.obs.queue.verdict
    if verdict is None or verdict.admitted:
        draft.start_attempt(number, settings, draft.obs.queue)
        return None
    _wait_in_queue(draft, verdict)
    return None


def _wait_in_queue(draft: _Draft, verdict: queueing.Verdict) -> None:
    """Record the task's place in its queue: on entering it, when the reason changes, and when
    the place halved or doubled (queueing.position_changed); live positions go through Redis."""
    found = conditions.find(draft.conditions, ConditionType.ADMITTED)
    recorded = draft.status.get("queuePosition")
    same_reason = (
        draft.phase is Phase.QUEUED
        and found is not None
        and found.get("status") == conditions.FALSE
        and found.get("reason") == verdict.reason.value
    )
    if same_reason and not queueing.position_changed(recorded, verdict.position):
        return
    draft.condition(ConditionType.ADMITTED, False, verdict.reason, verdict.message)
    draft.patch["queuePosition"] = verdict.position
    if draft.phase is not Phase.QUEUED:
        draft.move(Phase.QUEUED, verdict.reason, verdict.message)


def _queued(draft: _Draft, settings: Settings) -> Need | None:
    if _cancel_requested(draft):
        draft.patch["queuePosition"] = None
        draft.finish(Phase.CANCELLED, Reason.CANCEL_REQUESTED, "cancelled while queued")
        return None
    return _start_when_admitted(draft, settings, draft.attempt + 1)


def _ended(draft: _Draft, settings: Settings, rand: Callable[[], float]) -> Need | None:
    """The current attempt ended, says the phase: check that with its Job, then go on."""
    if draft.obs.job is None:
        # The store's word is enough: no API read for every finished or backing-off task.
        return LookUpJob(draft.job_name, confirm=False)
    contradiction = _contradiction(draft)
    if contradiction is not None:
        return _repair(draft, settings, rand, contradiction)
    if draft.phase is Phase.RETRYING:
        return _backing_off(draft, settings)
    return _after_end(draft, settings)


# The conditions that say a task has ended; a repaired status that reopens a task clears them.
_ENDED_CONDITIONS = (
    ConditionType.SUCCEEDED,
    ConditionType.FAILED,
    ConditionType.CANCELLED,
    ConditionType.DEAD_LETTERED,
)
# What each phase that ends an attempt expects of the attempt's Job.
_EXPECTED_JOB_STATES = {
    Phase.SUCCEEDED: {attempts.State.SUCCEEDED},
    Phase.FAILED: {attempts.State.FAILED},
    Phase.RETRYING: {attempts.State.FAILED},
}


def _contradiction(draft: _Draft) -> str | None:
    """Why the recorded phase contradicts the current attempt's Job, or None.

    Only the operator writes the phase, always from what the Job said (the admission policy keeps
    tasks' pods from writing it), so a contradiction is a status written by someone else: an
    admin, or an older path. A Job being deleted says nothing (a cancellation), nor does a Job
    gone (its TTL), nor a cancelled task's Job (it may have ended before its deletion).
    """
    job = draft.obs.job.job if draft.obs.job is not None else None
    if job is None or (job.get("metadata") or {}).get("deletionTimestamp"):
        return None
    state = attempts.judge(job).state
    if draft.phase is Phase.CANCELLED:
        if _cancel_requested(draft) or state not in (
            attempts.State.WAITING,
            attempts.State.RUNNING,
        ):
            return None
    elif draft.phase is None or state in _EXPECTED_JOB_STATES.get(draft.phase, set()):
        return None
    said = {
        attempts.State.WAITING: "has not started yet",
        attempts.State.RUNNING: "is still running",
        attempts.State.SUCCEEDED: "succeeded",
        attempts.State.FAILED: "failed",
    }[state]
    return f"status.phase was {draft.phase} but Job {draft.job_name} {said}"


def _repair(
    draft: _Draft, settings: Settings, rand: Callable[[], float], contradiction: str
) -> Need | None:
    """Put the status back to what the current attempt's Job says, with a Warning Event."""
    message = f"{contradiction}: the status is restored from the Job"
    for kind in _ENDED_CONDITIONS:
        if conditions.is_true(draft.conditions, kind):
            draft.condition(kind, False, Reason.STATUS_REPAIRED, message)
    draft.patch |= resource.Status(completionTime=None, nextAttemptTime=None)
    assert draft.obs.job is not None and draft.obs.job.job is not None
    state = attempts.judge(draft.obs.job.job).state
    if state in (attempts.State.WAITING, attempts.State.RUNNING) and not _cancel_requested(draft):
        # A runner writes its result as its attempt ends: one recorded while the attempt runs is
        # someone else's too (and the runner's merge patch would mix with it).
        draft.patch |= resource.Status(result=None, resultRef=None)
        if state is attempts.State.RUNNING:
            draft.condition(ConditionType.RUNNING, True, Reason.STATUS_REPAIRED, message)
            draft.move(Phase.RUNNING, Reason.STATUS_REPAIRED, message, WARNING)
        else:
            draft.move(Phase.PENDING, Reason.STATUS_REPAIRED, message, WARNING)
        return None
    # The attempt ended (or is to be cancelled): decide as if the task had been running.
    draft.plan.events.append(KubeEvent(WARNING, Reason.STATUS_REPAIRED, message))
    return _attempting(draft, settings, rand)


def _backing_off(draft: _Draft, settings: Settings) -> Need | None:
    if _cancel_requested(draft):
        draft.finish(
            Phase.CANCELLED,
            Reason.CANCEL_REQUESTED,
            f"cancelled while waiting to retry after attempt {draft.attempt}",
        )
        return None
    due = clock.parse_time(draft.status.get("nextAttemptTime"))
    if due is not None and due > draft.obs.now:
        draft.plan.requeue_after = (due - draft.obs.now).total_seconds()
        return None
    return _start_when_admitted(draft, settings, draft.attempt + 1)


def _attempting(draft: _Draft, settings: Settings, rand: Callable[[], float]) -> Need | None:
    looked_up = draft.obs.job
    if looked_up is None:
        return LookUpJob(draft.job_name, confirm=True)
    if _cancel_requested(draft):
        if not looked_up.missing:
            draft.plan.delete_job = draft.job_name
        verdict = attempts.Verdict(
            attempts.State.FAILED, Reason.CANCEL_REQUESTED, None, "cancelled by spec.cancel"
        )
        draft.end_attempt(resource.AttemptOutcome.CANCELLED, verdict)
        draft.finish(
            Phase.CANCELLED, Reason.CANCEL_REQUESTED, f"cancelled during attempt {draft.attempt}"
        )
        return None
    if looked_up.job is not None:
        if kueue.preempted(looked_up.job):
            return _preempted(draft, settings)
        if kueue.suspended(looked_up.job):
            _wait_for_kueue(draft)
            return None
        if draft.obs.pods is None and attempts.needs_pods(looked_up.job):
            return ListPods(draft.job_name)
        verdict = attempts.judge(looked_up.job, draft.obs.pods)
        if kueue.resumed(looked_up.job) or verdict.state is not attempts.State.WAITING:
            _kueue_admitted(draft)
    elif looked_up.missing:
        verdict = attempts.Verdict(
            attempts.State.FAILED,
            Reason.POD_LOST,
            None,
            f"Job {draft.job_name} disappeared before the attempt finished",
        )
    else:  # a Job of that name belongs to an older task of the same name: wait until it is gone
        draft.plan.requeue_after = 1.0
        return None
    if verdict.state is attempts.State.WAITING:
        return None  # the Job watch brings the next change (its pod ready, or the Job finished)
    if verdict.state is attempts.State.RUNNING:
        if draft.phase is Phase.PENDING:
            draft.mark_running()
        else:
            _check_stall(draft)
        return None
    if verdict.state is attempts.State.SUCCEEDED:
        if draft.phase is Phase.PENDING:
            draft.mark_running()  # it ran, if too briefly to be seen running
        draft.end_attempt(resource.AttemptOutcome.SUCCEEDED, verdict)
        if draft.status.get("progress") is None:
            draft.patch["progress"] = 100
        draft.finish(Phase.SUCCEEDED, Reason.COMPLETED, f"attempt {draft.attempt} succeeded")
        return None
    _attempt_failed(draft, verdict, rand)
    return None


def _waiting_for_kueue(draft: _Draft) -> bool:
    found = conditions.find(draft.conditions, ConditionType.ADMITTED)
    return (
        found is not None
        and found.get("status") == conditions.FALSE
        and found.get("reason") == Reason.WAITING_FOR_KUEUE
    )


def _wait_for_kueue(draft: _Draft) -> None:
    """The attempt's Job is suspended: it waits for Kueue (said when the Job was created), or
    Kueue preempted it after admitting it (its pod is being stopped): say so."""
    if _waiting_for_kueue(draft):
        return
    queue = kueue.local_queue(draft.task, draft.settings)
    waiting = kueue.waiting_message(queue) if queue else "waiting for it to be resumed"
    admitted = conditions.is_true(draft.conditions, ConditionType.ADMITTED)
    if draft.phase is not Phase.RUNNING and not admitted:
        # Not admitted yet: only the condition was missing.
        draft.condition(ConditionType.ADMITTED, False, Reason.WAITING_FOR_KUEUE, waiting)
        return
    message = f"attempt {draft.attempt} was preempted (its Job is suspended); {waiting}"
    draft.condition(ConditionType.ADMITTED, False, Reason.WAITING_FOR_KUEUE, message)
    if draft.phase is Phase.RUNNING:
        draft.condition(ConditionType.RUNNING, False, Reason.PREEMPTED, message)
        draft.move(Phase.PENDING, Reason.PREEMPTED, message, WARNING)
    else:
        draft.plan.events.append(KubeEvent(WARNING, Reason.PREEMPTED, message))


def _kueue_admitted(draft: _Draft) -> None:
    """Kueue unsuspended the attempt's Job: the task no longer waits for it."""
    if not _waiting_for_kueue(draft):
        return
    queue = kueue.local_queue(draft.task, draft.settings) or "?"
    message = f"admitted by Kueue in LocalQueue {queue}"
    draft.condition(ConditionType.ADMITTED, True, Reason.KUEUE_ADMITTED, message)


def _preempted(draft: _Draft, settings: Settings) -> Need | None:
    """The Job failed while suspended (Kueue preempted it, kueue.py 3): record the attempt as
    preempted and start the next one at once; it waits for Kueue like the first."""
    verdict = attempts.Verdict(
        attempts.State.FAILED,
        Reason.PREEMPTED,
        None,
        "preempted by Kueue: its Job was suspended and its pod stopped",
    )
    draft.end_attempt(resource.AttemptOutcome.FAILED, verdict)
    message = f"attempt {draft.attempt} was {verdict.message}; the next one starts at once"
    draft.plan.events.append(KubeEvent(WARNING, Reason.PREEMPTED, message))
    if conditions.is_true(draft.conditions, ConditionType.STALLED):
        draft.condition(ConditionType.STALLED, False, Reason.PREEMPTED, "the attempt ended")
        draft.plan.stalled = False
    return _start_when_admitted(draft, settings, draft.attempt + 1)


def _attempt_failed(draft: _Draft, verdict: attempts.Verdict, rand: Callable[[], float]) -> None:
    draft.end_attempt(resource.AttemptOutcome.FAILED, verdict)
    what = f"attempt {draft.attempt} failed ({verdict.reason}): {verdict.message}"
    if verdict.reason is Reason.DEADLINE_EXCEEDED:
        limit = draft.spec.get("timeoutSeconds")
        after = f" after {limit}s" if limit is not None else ""
        what = f"attempt {draft.attempt} timed out{after} ({Reason.DEADLINE_EXCEEDED})"
        # The runner only saw a SIGTERM; the task's message says why it came.
        draft.patch["message"] = what
    if verdict.permanent:
        draft.finish(Phase.FAILED, Reason.PERMANENT_FAILURE, what, WARNING)
        return
    total = draft.allowed_attempts
    if draft.attempt < total:
        wait = backoff.delay(backoff.Backoff.from_spec(draft.spec), draft.attempt, rand)
        due = draft.obs.now + dt.timedelta(seconds=wait)
        draft.patch["nextAttemptTime"] = clock.format_time(due)
        message = f"{what}; attempt {draft.attempt + 1} of {total} in {wait:.1f}s"
        draft.condition(ConditionType.RUNNING, False, Reason.BACKOFF, message)
        if conditions.is_true(draft.conditions, ConditionType.STALLED):
            draft.condition(ConditionType.STALLED, False, Reason.BACKOFF, "the attempt ended")
            draft.plan.stalled = False
        draft.move(Phase.RETRYING, Reason.BACKOFF, message, WARNING)
        draft.plan.requeue_after = wait
        return
    message = f"{what}; all {total} attempts failed"
    draft.condition(ConditionType.DEAD_LETTERED, True, Reason.ATTEMPTS_EXHAUSTED, message)
    draft.finish(Phase.FAILED, Reason.ATTEMPTS_EXHAUSTED, message, WARNING)
    draft.plan.deadletter = deadletters.DeadLetter(
        namespace=draft.meta["namespace"],
        name=draft.meta["name"],
        uid=draft.meta["uid"],
        attempts=draft.attempt,
        reason=(verdict.reason or Reason.ATTEMPT_FAILED).value,
        error=verdict.message,
        ts=clock.to_ms(draft.obs.now),
    )


def stall_seconds(spec: resource.Spec) -> int:
    return int(spec.get("stallSeconds") or resource.DEFAULT_STALL_SECONDS)


def is_stale(task: LongTask, heartbeat_ms: int, now: dt.datetime) -> bool:
    """Whether the current attempt has been silent for longer than stallSeconds.

    Silence counts from the last heartbeat, or from when the attempt was seen running (a pod that
    waited long to start has not been silent), whichever is later.
    """
    status = task.get("status") or {}
    records = status.get("attempts") or []
    marks = [heartbeat_ms]
    started = clock.parse_time(records[-1].get("start")) if records else None
    if started is not None:
        marks.append(clock.to_ms(started))
    running = conditions.find(status.get("conditions") or [], ConditionType.RUNNING)
    if running is not None and running.get("status") == conditions.TRUE:
        since = clock.parse_time(running.get("lastTransitionTime"))
        if since is not None:
            marks.append(clock.to_ms(since))
    baseline = max(marks)
    if baseline == 0:
        return False
    return clock.to_ms(now) - baseline > stall_seconds(task["spec"]) * 1000


def _check_stall(draft: _Draft) -> None:
    if draft.obs.heartbeat_ms is None:
        return  # unknown (Redis down or not read yet): leave the condition as it is
    stale = is_stale(draft.task, draft.obs.heartbeat_ms, draft.obs.now)
    was = conditions.is_true(draft.conditions, ConditionType.STALLED)
    if stale and not was:
        limit = stall_seconds(draft.spec)
        message = f"no heartbeat for more than {limit}s during attempt {draft.attempt}"
        draft.condition(ConditionType.STALLED, True, Reason.NO_HEARTBEAT, message)
        draft.plan.events.append(KubeEvent(WARNING, Reason.NO_HEARTBEAT, message))
        draft.plan.stalled = True
    elif was and not stale:
        message = f"heartbeats resumed during attempt {draft.attempt}"
        draft.condition(ConditionType.STALLED, False, Reason.HEARTBEAT_RESUMED, message)
        draft.plan.events.append(KubeEvent(NORMAL, Reason.HEARTBEAT_RESUMED, message))
        draft.plan.stalled = False


def ttl_remaining(task: LongTask, now: dt.datetime) -> float | None:
    """Seconds until a finished task's TTL deletion is due (≤ 0: due); None without a TTL."""
    ttl = task["spec"].get("ttlSecondsAfterFinished")
    ended = clock.parse_time((task.get("status") or {}).get("completionTime"))
    if ttl is None or ended is None:
        return None
    return (ended + dt.timedelta(seconds=int(ttl)) - now).total_seconds()


def _after_end(draft: _Draft, settings: Settings) -> Need | None:
    if draft.phase is Phase.CANCELLED and draft.obs.job is not None:
        # A crash between deciding to cancel and deleting the Job leaves it running: finish the
        # deletion.
        job = draft.obs.job.job
        if (
            job is not None
            and attempts.judge(job).state in (attempts.State.WAITING, attempts.State.RUNNING)
            and not (job.get("metadata") or {}).get("deletionTimestamp")
        ):
            draft.plan.delete_job = draft.job_name
    remaining = ttl_remaining(draft.task, draft.obs.now)
    if settings.history.enabled and not draft.obs.archived:
        # Every finished task reaches the history (one that finished before a restart too);
        # its TTL deletion waits for that.
        if draft.obs.archived is None:
            return CheckArchived(draft.meta["uid"])
        draft.plan.archive = True
        if remaining is not None and remaining <= 0:
            draft.plan.requeue_after = ARCHIVE_RECHECK_SECONDS
            return None
    if remaining is None:
        return None
    if remaining <= 0:
        draft.plan.delete_task = True
    else:
        draft.plan.requeue_after = remaining
    return None
