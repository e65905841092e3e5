"""A schedule's next step as a pure function: (schedule, observation) → Plan, or what to observe.

Like `reconcile.decide` for tasks, `decide` is level-triggered: it reads the schedule's recorded
status (`lastScheduleTime`: every slot up to it was handled), its runs and the time, and returns
the whole step. Run twice on the same input it gives the same plan, and every effect is
idempotent: a slot's run has one name (`schedule.run_name`), so creating it again — after a
restart, from a second operator, on a retry — finds the same run (AlreadyExists).

Design choices:
1. A slot is *on time* when it fell while this operator process watched the schedule active
   (`Observation.watched_since`); any other due slot was *missed* (operator down, schedule
   suspended) and `missedRuns` decides: Skip starts none, RunLatest the latest, RunAll each
   (at most `maxMissedRuns`, the latest). No tolerance window guesses what "late" means.
2. `startingDeadlineSeconds` bounds every slot, on time or not; `concurrencyPolicy` then decides
   about the slots that would start: Forbid skips one while a run is active, Replace cancels
   the active runs (`spec.cancel`, so SIGTERM reaches them), Allow starts it.
3. Every skipped slot is in the plan (`missed`, with its reason): the controller posts an Event
   and counts a metric for each (Events capped per round, the count never).
4. Before a plan creates or cancels runs it needs the schedule as the API server has it now
   (`ReadSchedule`): a stale view (a lagging watch, a second operator) could otherwise start a
   slot again whose run was already deleted by the history limits. The status patch carries the
   resourceVersion decided on, so of two operators only one records a round.
5. A catch-up walks at most `SLOT_CHUNK` slots per round (they are all older than the next
   chunk's, so all are skipped) and asks to be run again at once.
6. Consecutive failures are counted from the runs that finished after `status.lastRun`, in the
   order they finished, so runs deleted by the history limits have been counted before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping, Sequence

from longtask.core import resource, schedule, slots
from longtask.core.resource import Phase
from longtask.core.schedule import (
    ConcurrencyPolicy,
    ConditionType,
    LongTaskSchedule,
    MissedRuns,
    Reason,
    Trigger,
)

from .. import clock, conditions
from .runs import Run

NORMAL = "Normal"
WARNING = "Warning"
# Slots one round walks at most (more than MAX_MISSED_RUNS_LIMIT: see design choice 5).
SLOT_CHUNK = 2000
# Skipped slots that get an Event of their own per round; the rest share one.
MAX_SLOT_EVENTS = 10


@dataclasses.dataclass(frozen=True)
class Observation:
    """What the controller saw for one schedule."""

    now: dt.datetime
    runs: Sequence[Run] = ()
    """The schedule's runs in the controller's store, in slot order."""
    watched_since: dt.datetime | None = None
    """Since when this process has watched the schedule valid and active (None: from now)."""
    fresh: bool = False
    """The schedule was just read from the API server (see ReadSchedule)."""
    looked_up: Mapping[str, Run | None] = dataclasses.field(default_factory=dict)
    """Runs named in status.active that the store lacked, read from the API server."""


@dataclasses.dataclass(frozen=True)
class ReadSchedule:
    """Need: the schedule as the API server has it now (the plan would create or cancel runs)."""


@dataclasses.dataclass(frozen=True)
class LookUpRuns:
    """Need: these runs, listed as active in the status but missing from the store."""

    names: tuple[str, ...]


Need = ReadSchedule | LookUpRuns


@dataclasses.dataclass(frozen=True)
class KubeEvent:
    type: str
    reason: Reason
    message: str


@dataclasses.dataclass(frozen=True)
class Missed:
    """A slot that gets no run, and why."""

    slot: dt.datetime
    reason: Reason
    why: str


@dataclasses.dataclass
class Plan:
    """Effects to apply, in the order of the fields; `status` is patched with `resource_version`
    as precondition."""

    resource_version: str = ""
    pause: bool = False
    """Set spec.suspend (pauseAfterFailures reached)."""
    cancel: list[str] = dataclasses.field(default_factory=list)
    create: list[resource.LongTask] = dataclasses.field(default_factory=list)
    status: schedule.ScheduleStatus | None = None
    delete: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    """Finished runs past the history limits: (name, uid)."""
    events: list[KubeEvent] = dataclasses.field(default_factory=list)
    missed: list[Missed] = dataclasses.field(default_factory=list)
    requeue_after: float | None = None
    watching: bool = False
    """The schedule is valid and active: slots from now on are on time."""

    @property
    def changes_runs(self) -> bool:
        return bool(self.create or self.cancel)


def time_text(moment: dt.datetime) -> str:
    """A slot's time in status fields and messages: RFC 3339 in UTC, whole seconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Draft:
    """The status being built for one schedule, and the plan around it."""

    def __init__(self, sched: LongTaskSchedule, obs: Observation) -> None:
        self.sched = sched
        self.meta = sched["metadata"]
        self.spec = sched["spec"]
        self.status: schedule.ScheduleStatus = sched.get("status") or {}
        self.obs = obs
        self.new: schedule.ScheduleStatus = self.status.copy()
        self.plan = Plan(resource_version=str(self.meta.get("resourceVersion", "")))
        self.known: dict[str, Run] = {}
        """The schedule's runs by name: the store's and those looked up (this schedule's)."""

    @functools.cached_property
    def now_text(self) -> str:
        return clock.format_time(self.obs.now)

    @property
    def generation(self) -> int | None:
        gen = self.meta.get("generation")
        return int(gen) if gen is not None else None

    def condition(self, kind: ConditionType, status: bool, reason: Reason, message: str) -> None:
        self.new["conditions"] = conditions.set_condition(
            self.new.get("conditions") or [],
            kind,
            status,
            reason,
            message,
            self.generation,
            self.now_text,
        )

    def changed(self, kind: ConditionType, status: bool, reason: Reason) -> bool:
        """Whether setting this condition would change its status or reason."""
        found = conditions.find(self.status.get("conditions") or [], kind)
        text = conditions.TRUE if status else conditions.FALSE
        return found is None or found.get("status") != text or found.get("reason") != reason.value

    def event(self, kind: str, reason: Reason, message: str) -> None:
        self.plan.events.append(KubeEvent(kind, reason, message))

    def result(self) -> Plan:
        self.new["observedGeneration"] = self.generation or 0
        patch: schedule.ScheduleStatus = {}
        for key, value in self.new.items():
            if self.status.get(key) != value:
                patch[key] = value  # type: ignore[literal-required]
        if patch:
            self.plan.status = patch
        return self.plan


def decide(sched: LongTaskSchedule, obs: Observation, allow_seconds: bool) -> Plan | Need:
    """The plan for the schedule's next step, given what was observed; or what to observe
    first."""
    if sched["metadata"].get("deletionTimestamp"):
        return Plan()  # owner references delete the runs; nothing to record on a dying object
    draft = _Draft(sched, obs)
    need = _account_runs(draft)
    if need is not None:
        return need
    suspended = _suspension(draft)
    try:
        cron = slots.parse(
            draft.spec["schedule"],
            draft.spec.get("timeZone") or schedule.DEFAULT_TIME_ZONE,
            allow_seconds,
        )
    except slots.InvalidSchedule as exc:
        reason = Reason.SECONDS_NOT_ENABLED if exc.seconds else Reason.INVALID_SCHEDULE
        if draft.changed(ConditionType.READY, False, reason):
            draft.event(WARNING, reason, str(exc))
        draft.condition(ConditionType.READY, False, reason, str(exc))
        draft.new["nextScheduleTime"] = None
        return draft.result()
    if suspended is not None:
        draft.condition(ConditionType.READY, False, suspended, "suspended: no slot starts")
        draft.new["nextScheduleTime"] = None
        return draft.result()
    if _start_slots(draft, cron) and not obs.fresh:
        return ReadSchedule()
    return draft.result()


# Runs: what finished, what is active, what the history limits delete ---------------------------


def _account_runs(draft: _Draft) -> Need | None:
    runs = {r.name: r for r in draft.obs.runs}
    missing = [
        ref["name"]
        for ref in draft.status.get("active") or []
        if ref.get("name") and ref["name"] not in runs and ref["name"] not in draft.obs.looked_up
    ]
    if missing:
        return LookUpRuns(tuple(missing))
    for name, found in draft.obs.looked_up.items():
        if found is not None and found.owner_uid == draft.meta.get("uid"):
            runs[name] = found
    draft.known = runs
    every = sorted(runs.values(), key=lambda r: r.order)
    _count_finished(draft, every)
    _set_active(draft, [r for r in every if not r.finished])
    _prune(draft, [r for r in every if r.finished])
    return None


def _count_finished(draft: _Draft, every: Sequence[Run]) -> None:
    last = draft.status.get("lastRun") or {}
    watermark = clock.parse_time(last.get("completionTime"))
    counted_name = last.get("name")
    newly = sorted(
        (
            r
            for r in every
            if r.finished and r.name != counted_name and (watermark is None or r.ended >= watermark)
        ),
        key=lambda r: (r.ended, r.name),
    )
    failures = int(draft.status.get("consecutiveFailures") or 0)
    for run in newly:
        if run.phase is Phase.SUCCEEDED:
            failures = 0
            draft.new["lastSuccessfulTime"] = clock.format_time(run.ended)
            draft.event(NORMAL, Reason.RUN_SUCCEEDED, f"run {run.name} succeeded")
        elif run.phase is Phase.FAILED:
            failures += 1
            draft.event(WARNING, Reason.RUN_FAILED, f"run {run.name} failed: {run.message}")
        draft.new["lastRun"] = schedule.LastRun(
            name=run.name,
            phase=run.phase.value if run.phase else "",
            completionTime=clock.format_time(run.ended),
        )
        if run.slot is not None:
            draft.new["lastRun"]["scheduledTime"] = time_text(run.slot)
    draft.new["consecutiveFailures"] = failures


def _set_active(draft: _Draft, active: Sequence[Run]) -> None:
    refs = []
    for run in active:
        ref = schedule.RunRef(name=run.name)
        if run.slot is not None:
            ref["scheduledTime"] = time_text(run.slot)
        refs.append(ref)
    draft.new["active"] = refs
    draft.new["activeRuns"] = len(refs)


def _prune(draft: _Draft, finished: Sequence[Run]) -> None:
    """Delete the oldest finished runs past the history limits (succeeded; failed or
    cancelled), once they are counted (the status patch comes first)."""
    keep_succeeded = draft.spec.get(
        "successfulRunsHistoryLimit", schedule.DEFAULT_SUCCESSFUL_HISTORY
    )
    keep_failed = draft.spec.get("failedRunsHistoryLimit", schedule.DEFAULT_FAILED_HISTORY)
    newest_first = sorted(finished, key=lambda r: (r.ended, r.name), reverse=True)
    succeeded = [r for r in newest_first if r.phase is Phase.SUCCEEDED]
    failed = [r for r in newest_first if r.phase is not Phase.SUCCEEDED]
    for run in succeeded[keep_succeeded:] + failed[keep_failed:]:
        draft.plan.delete.append((run.name, run.uid))


# Suspension and pauseAfterFailures ------------------------------------------------------------


def _suspension(draft: _Draft) -> Reason | None:
    """Sets the Suspended condition (pausing the schedule when its runs failed too often);
    the reason the schedule is suspended, or None when it is active."""
    limit = draft.spec.get("pauseAfterFailures")
    failures = int(draft.new.get("consecutiveFailures") or 0)
    suspended = bool(draft.spec.get("suspend"))
    held = conditions.find(draft.status.get("conditions") or [], ConditionType.SUSPENDED)
    was_suspended = held is not None and held.get("status") == conditions.TRUE
    if not suspended and was_suspended:
        message = "resumed: slots start again"
        if held is not None and held.get("reason") == Reason.TOO_MANY_FAILURES.value:
            draft.new["consecutiveFailures"] = failures = 0
            message = "resumed: slots start again and failures are counted from zero"
        draft.condition(ConditionType.SUSPENDED, False, Reason.RESUMED, message)
        draft.event(NORMAL, Reason.RESUMED, message)
    if limit is not None and failures >= limit and not suspended:
        draft.plan.pause = True
        suspended = True
    if not suspended:
        return None
    reason = Reason.SUSPENDED
    message = "suspended by spec.suspend"
    if limit is not None and failures >= limit:
        reason = Reason.TOO_MANY_FAILURES
        last = (draft.new.get("lastRun") or {}).get("name", "")
        message = (
            f"paused after {failures} failed runs in a row (pauseAfterFailures {limit}; the "
            f"last: {last}); set spec.suspend to false to resume"
        )
    if draft.changed(ConditionType.SUSPENDED, True, reason):
        draft.event(WARNING if reason is Reason.TOO_MANY_FAILURES else NORMAL, reason, message)
    draft.condition(ConditionType.SUSPENDED, True, reason, message)
    return reason


# Slots ----------------------------------------------------------------------------------------


def _start_slots(draft: _Draft, cron: slots.Cron) -> bool:
    """Handles the due slots; whether the plan creates or cancels runs."""
    now = draft.obs.now
    draft.plan.watching = True
    created = clock.parse_time(draft.meta.get("creationTimestamp")) or now
    handled = clock.parse_time(draft.status.get("lastScheduleTime"))
    baseline = handled if handled is not None else created
    due, complete = cron.between(baseline, now, SLOT_CHUNK)
    watched_since = draft.obs.watched_since or now
    chosen = _choose(draft, due, complete, watched_since)
    _concurrency(draft, chosen)
    if due:
        draft.new["lastScheduleTime"] = time_text(due[-1])
    _report_missed(draft)
    if not complete:
        draft.plan.requeue_after = 0.0
        following = cron.after(due[-1])
    else:
        following = cron.after(now)
    if following is None:
        draft.new["nextScheduleTime"] = None
        message = "the schedule has no further slot"
    else:
        draft.new["nextScheduleTime"] = time_text(following)
        if complete:
            draft.plan.requeue_after = max(0.0, (following - now).total_seconds())
        message = f"next slot {time_text(following)}"
    draft.condition(ConditionType.READY, True, Reason.SCHEDULING, message)
    return draft.plan.changes_runs


def _choose(
    draft: _Draft, due: Sequence[dt.datetime], complete: bool, watched_since: dt.datetime
) -> list[dt.datetime]:
    """The due slots that would start by missedRuns and the deadline; the others are missed."""
    deadline = draft.spec.get("startingDeadlineSeconds")
    policy = MissedRuns(draft.spec.get("missedRuns") or MissedRuns.RUN_LATEST)
    cap = int(draft.spec.get("maxMissedRuns") or schedule.DEFAULT_MAX_MISSED_RUNS)
    candidates: list[dt.datetime] = []
    for slot in due:
        late = (draft.obs.now - slot).total_seconds()
        if deadline is not None and late > deadline:
            draft.plan.missed.append(
                Missed(
                    slot,
                    Reason.DEADLINE_EXCEEDED,
                    f"{late:.0f}s late, past the {deadline}s deadline",
                )
            )
        else:
            candidates.append(slot)
    on_time = [s for s in candidates if s >= watched_since] if complete else []
    missed = [s for s in candidates if s not in on_time]
    if policy is MissedRuns.RUN_ALL:
        keep = missed[-cap:] if complete else []
        for slot in missed:
            if slot not in keep:
                draft.plan.missed.append(
                    Missed(
                        slot, Reason.TOO_MANY_MISSED, f"RunAll starts the {cap} latest missed slots"
                    )
                )
        return sorted(keep + on_time)
    chosen = candidates[-1:] if policy is MissedRuns.RUN_LATEST and complete else on_time[-1:]
    for slot in candidates:
        if slot in chosen:
            continue
        if slot in on_time or (chosen and slot < chosen[-1]):
            why = f"a later slot is due (missedRuns {policy})"
        else:
            why = f"it passed while no operator watched the schedule active (missedRuns {policy})"
        draft.plan.missed.append(Missed(slot, Reason.MISSED, why))
    return chosen


def _concurrency(draft: _Draft, chosen: Sequence[dt.datetime]) -> None:
    """Creates the chosen slots' runs as concurrencyPolicy allows."""
    policy = ConcurrencyPolicy(draft.spec.get("concurrencyPolicy") or ConcurrencyPolicy.ALLOW)
    existing = draft.known
    active = [r.name for r in existing.values() if not r.finished]
    if policy is ConcurrencyPolicy.REPLACE and len(chosen) > 1:
        for slot in chosen[:-1]:
            why = "a later slot due now would replace its run at once (Replace)"
            draft.plan.missed.append(Missed(slot, Reason.MISSED, why))
        chosen = chosen[-1:]
    refs = list(draft.new.get("active") or [])
    for slot in chosen:
        name = schedule.run_name(draft.meta["name"], slot)
        if name in existing:
            continue  # started already (a backfill, or a round whose status patch was lost)
        if active and policy is ConcurrencyPolicy.FORBID:
            draft.plan.missed.append(
                Missed(slot, Reason.CONCURRENCY_FORBID, f"run {active[0]} is still active (Forbid)")
            )
            continue
        if active and policy is ConcurrencyPolicy.REPLACE:
            for old in active:
                draft.plan.cancel.append(old)
                draft.event(
                    NORMAL,
                    Reason.RUN_REPLACED,
                    f"cancelled run {old}: slot {time_text(slot)} replaces it",
                )
            active = []
        run = schedule.build_run(draft.sched, slot, Trigger.SCHEDULE)
        draft.plan.create.append(run)
        active.append(name)
        refs.append(schedule.RunRef(name=name, scheduledTime=time_text(slot)))
        draft.event(NORMAL, Reason.RUN_STARTED, f"started run {name} for slot {time_text(slot)}")
    draft.new["active"] = refs
    draft.new["activeRuns"] = len(refs)


def _report_missed(draft: _Draft) -> None:
    """An Event per skipped slot, at most MAX_SLOT_EVENTS per round and then one for the rest
    (the metric counts every one)."""
    ordered = sorted(draft.plan.missed, key=lambda m: m.slot)
    for item in ordered[:MAX_SLOT_EVENTS]:
        draft.event(WARNING, item.reason, f"slot {time_text(item.slot)} skipped: {item.why}")
    rest = ordered[MAX_SLOT_EVENTS:]
    if rest:
        reasons = ", ".join(sorted({m.reason.value for m in rest}))
        draft.event(
            WARNING,
            rest[-1].reason,
            f"{len(rest)} more slots skipped from {time_text(rest[0].slot)} to "
            f"{time_text(rest[-1].slot)} ({reasons})",
        )
