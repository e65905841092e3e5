"""Admission to a LongTaskQueue as pure functions: (queue, its tasks, its Jobs, now) → a view.

The view orders the tasks waiting for the queue, says which of them may start now, and for each
of the others why it waits, its place and an estimated start.

Design choices:
1. Limits are counted from the Jobs, never from memory: a Job carries the labels of its queue and
   key (`taskqueue.LABEL_QUEUE`, `LABEL_QUEUE_KEY`) and is live until its terminal condition
   (`attempts.judge`), so a restarted operator counts what really runs. A Job being deleted (a
   cancellation) counts until it is gone: its pod may still be stopping.
2. Rate limits count attempt starts from the Jobs' creation times (whole seconds, rounded up)
   and the tasks' attempt records (exact; they also cover Jobs already removed by their TTL);
   both name the attempt's Job, so each start counts once.
3. The view is a function of the store. Whoever decides admits exactly the first tasks that fit,
   so a task admitted but not started yet keeps its room: the controller holds the queue's lock
   from computing the view until the admitted task's Job is in the store (controller.py).
4. Order: higher priority first; within a priority, keys take turns — a task's rank is its index
   among its key's waiting tasks plus its key's live attempts, so a key with fewer running goes
   first and one tenant's 1,000 tasks do not starve another's 3 — then creation time. A retry
   waits out its backoff outside the queue and then ranks by its creation time again: it keeps
   its place.
5. ETA: attempts are assumed to last the mean of the queue's recent finished attempts; a slot
   frees when a live attempt reaches that age (at once when already past it), and each waiting
   task in order takes the earliest free slot no sooner than the rate limit allows. With
   `maxRunningPerKey` each key has its own slots too (its live attempts'), and a task starts when
   both a slot of the queue and one of its key are free. Without any finished attempt there is
   no ETA beyond the free slots.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import heapq
from collections.abc import Iterable, Mapping
from typing import Any

from longtask.core import resource, taskqueue
from longtask.core.resource import LongTask, Phase, Reason
from longtask.core.taskqueue import QueueSpec

from . import attempts, clock, jobs

Key = tuple[str, str]

# Finished attempts whose durations make the mean of an ETA.
RECENT_ATTEMPTS = 20


@dataclasses.dataclass(frozen=True)
class Waiter:
    """A task waiting for its queue."""

    key: Key
    uid: str
    priority: int
    created: dt.datetime
    since: dt.datetime
    """When it began waiting: its creation, or its retry's due time."""
    ckey: str | None


@dataclasses.dataclass(frozen=True)
class Attempt:
    """A Job of the queue (one attempt of one of its tasks)."""

    name: str
    created: dt.datetime
    live: bool
    ckey_label: str | None
    duration: float | None = None
    """Seconds from start to completion, once finished."""
    finished: dt.datetime | None = None
    started: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One waiting task's place: admitted now, or why not."""

    admitted: bool
    position: int
    reason: Reason
    message: str
    eta: dt.datetime | None


@dataclasses.dataclass
class View:
    """A queue as admission sees it."""

    name: str
    namespace: str
    running: int
    max_running: int | None
    order: list[Waiter]
    verdicts: dict[Key, Verdict]
    oldest: dt.datetime | None
    recheck_after: float | None = None
    """Seconds until a rate-limit window frees a start (when something waits on it)."""

    @property
    def queued(self) -> int:
        return sum(1 for v in self.verdicts.values() if not v.admitted)

    def admitted(self) -> list[Key]:
        return [w.key for w in self.order if self.verdicts[w.key].admitted]

    def verdict(self, key: Key) -> Verdict | None:
        return self.verdicts.get(key)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def job_live(job: Mapping[str, Any]) -> bool:
    return attempts.judge(job).state in (attempts.State.WAITING, attempts.State.RUNNING)


def waiting(task: LongTask, now: dt.datetime) -> dt.datetime | None:
    """Since when `task` waits for admission, or None when it does not (started, backing off,
    finished, cancelled or being deleted)."""
    meta, spec = task["metadata"], task["spec"]
    if meta.get("deletionTimestamp") or spec.get("cancel"):
        return None
    status = task.get("status") or {}
    phase = resource.phase_of(status)
    created = clock.parse_time(meta.get("creationTimestamp")) or now
    if phase is None:
        return created if not status.get("phase") else None
    if phase is Phase.QUEUED:
        due = clock.parse_time(status.get("nextAttemptTime"))
        return due or created
    if phase is Phase.RETRYING:
        due = clock.parse_time(status.get("nextAttemptTime"))
        return due if due is not None and due <= now else None
    return None


def next_attempt(task: LongTask) -> int:
    return int((task.get("status") or {}).get("attempt") or 0) + 1


def gather(
    name: str,
    namespace: str,
    spec: QueueSpec,
    tasks: Iterable[LongTask],
    job_objects: Iterable[Mapping[str, Any]],
    now: dt.datetime,
) -> tuple[list[Waiter], list[Attempt]]:
    """The waiting tasks and the Jobs of queue `namespace/name`, from the store's objects."""
    attempts_: dict[str, Attempt] = {}
    for job in job_objects:
        meta = job["metadata"]
        labels = meta.get("labels") or {}
        if meta.get("namespace") != namespace or labels.get(taskqueue.LABEL_QUEUE) != name:
            continue
        status = job.get("status") or {}
        # creationTimestamp has whole seconds: rounded up, a window never counts a start out
        # early; the attempt's record (below) has the exact time once written.
        created = clock.parse_time(meta.get("creationTimestamp"))
        created = created + dt.timedelta(seconds=1) if created is not None else now
        started = clock.parse_time(status.get("startTime")) or created
        finished = clock.parse_time(status.get("completionTime"))
        live = job_live(job)
        if not live and finished is None:
            finished = _terminal_time(job)
        duration = (finished - started).total_seconds() if finished and not live else None
        attempts_[meta["name"]] = Attempt(
            name=meta["name"],
            created=created,
            live=live,
            ckey_label=labels.get(taskqueue.LABEL_QUEUE_KEY),
            duration=duration,
            finished=finished if not live else None,
            started=started,
        )
    waiters: list[Waiter] = []
    for task in tasks:
        meta, task_spec = task["metadata"], task["spec"]
        if meta.get("namespace") != namespace or task_spec.get("queue") != name:
            continue
        for record in (task.get("status") or {}).get("attempts") or []:
            job_name, start = record.get("jobName"), clock.parse_time(record.get("start"))
            if not job_name or start is None:
                continue
            known = attempts_.get(job_name)
            if known is None:
                attempts_[job_name] = Attempt(job_name, start, live=False, ckey_label=None)
            elif known.created > start:
                attempts_[job_name] = dataclasses.replace(known, created=start)
        since = waiting(task, now)
        if since is None:
            continue
        admitted = attempts_.get(jobs.job_name(meta["name"], next_attempt(task)))
        if admitted is not None and admitted.live:
            continue  # admitted; its status does not say so yet
        waiters.append(
            Waiter(
                key=(namespace, meta["name"]),
                uid=meta.get("uid", ""),
                priority=int(task_spec.get("priority") or 0),
                created=clock.parse_time(meta.get("creationTimestamp")) or now,
                since=since,
                ckey=taskqueue.task_key(task, spec),
            )
        )
    return waiters, list(attempts_.values())


def _terminal_time(job: Mapping[str, Any]) -> dt.datetime | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return clock.parse_time(condition.get("lastTransitionTime"))
    return None


def order(waiters: Iterable[Waiter], live_per_key: Mapping[str, int]) -> list[Waiter]:
    """Priority first; within a priority keys take turns (see 4.); then creation time."""
    by_key: dict[tuple[int, str | None], list[Waiter]] = {}
    for waiter in sorted(waiters, key=lambda w: (w.created, w.key)):
        by_key.setdefault((waiter.priority, waiter.ckey), []).append(waiter)
    ranked: list[tuple[int, int, dt.datetime, Key, Waiter]] = []
    for (priority, ckey), queue in by_key.items():
        live = live_per_key.get(taskqueue.key_label(ckey), 0) if ckey is not None else 0
        for index, waiter in enumerate(queue):
            ranked.append((-priority, index + live, waiter.created, waiter.key, waiter))
    ranked.sort(key=lambda r: r[:4])
    return [r[4] for r in ranked]


def view(
    name: str,
    namespace: str,
    spec: QueueSpec,
    waiters: Iterable[Waiter],
    recorded: Iterable[Attempt],
    now: dt.datetime,
) -> View:
    """Admission for one queue: who starts now, and where and why the others wait."""
    jobs = list(recorded)
    live = [j for j in jobs if j.live]
    live_per_key: dict[str, int] = {}
    for job in live:
        if job.ckey_label is not None:
            live_per_key[job.ckey_label] = live_per_key.get(job.ckey_label, 0) + 1
    ordered = order(waiters, live_per_key)
    max_running = spec.get("maxRunning")
    per_key = spec.get("maxRunningPerKey")
    rate = spec.get("rateLimit")
    period = dt.timedelta(seconds=rate["periodSeconds"]) if rate else None
    starts = sorted(j.created for j in jobs)
    window = [s for s in starts if period is not None and s > now - period]
    running, used = len(live), len(window)
    counts = dict(live_per_key)
    etas = estimates(ordered, jobs, spec, now)
    verdicts: dict[Key, Verdict] = {}
    recheck: float | None = None
    queued = 0
    for waiter, eta in zip(ordered, etas, strict=True):
        label = taskqueue.key_label(waiter.ckey) if waiter.ckey is not None else None
        reason: Reason | None = None
        position = queued + 1
        where = f"{ordinal(position)} in queue {name}"
        if spec.get("suspend"):
            reason, message = Reason.QUEUE_SUSPENDED, f"{where}: the queue is suspended"
        elif max_running is not None and running >= max_running:
            reason, message = Reason.QUEUE_FULL, f"{where}: {running} of {max_running} running"
        elif per_key is not None and label is not None and counts.get(label, 0) >= per_key:
            reason = Reason.KEY_LIMIT
            message = (
                f"{where}: key {waiter.ckey!r} has {counts.get(label, 0)} of {per_key} running"
            )
        elif rate is not None and period is not None and used >= rate["starts"]:
            reason = Reason.RATE_LIMITED
            free = window[-rate["starts"]] + period if len(window) >= rate["starts"] else now
            wait = max(0.0, (free - now).total_seconds())
            recheck = wait if recheck is None else min(recheck, wait)
            message = (
                f"{where}: {used} of {rate['starts']} starts in the last "
                f"{rate['periodSeconds']}s, next start in {wait:.0f}s"
            )
        if reason is None:
            running += 1
            used += 1
            window.append(now)
            if label is not None:
                counts[label] = counts.get(label, 0) + 1
            verdicts[waiter.key] = Verdict(
                True, 0, Reason.ADMITTED, f"admitted by queue {name}", now
            )
            continue
        queued += 1
        verdicts[waiter.key] = Verdict(False, position, reason, message, eta)
    oldest = min((w.since for w in ordered if not verdicts[w.key].admitted), default=None)
    return View(
        name=name,
        namespace=namespace,
        running=len(live),
        max_running=max_running,
        order=ordered,
        verdicts=verdicts,
        oldest=oldest,
        recheck_after=recheck,
    )


def mean_duration(jobs: Iterable[Attempt]) -> float | None:
    """The mean duration of the queue's latest finished attempts (see 5.)."""
    finished = sorted(
        (j for j in jobs if j.duration is not None and j.finished is not None),
        key=lambda j: j.finished or j.created,
    )[-RECENT_ATTEMPTS:]
    if not finished:
        return None
    return sum(j.duration or 0.0 for j in finished) / len(finished)


NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)
"""A slot that frees at no known time (no finished attempt to learn a duration from)."""


def _slots(
    live: list[Attempt], limit: int, mean: float | None, now: dt.datetime
) -> list[dt.datetime]:
    """When each of `limit` slots frees (a heap): a live attempt's at its expected end."""
    slots = [
        max(now, (job.started or job.created) + dt.timedelta(seconds=mean))
        if mean is not None
        else NEVER
        for job in live[:limit]
    ]
    slots.extend([now] * max(0, limit - len(live)))
    heapq.heapify(slots)
    return slots


def estimates(
    ordered: list[Waiter], jobs: list[Attempt], spec: QueueSpec, now: dt.datetime
) -> list[dt.datetime | None]:
    """The estimated start of each waiting task in order (see 5.); None when it cannot be told
    (suspended, or no finished attempt to learn a duration from and no free slot)."""
    if spec.get("suspend"):
        return [None] * len(ordered)
    mean = mean_duration(jobs)
    max_running = spec.get("maxRunning")
    per_key = spec.get("maxRunningPerKey")
    live = [j for j in jobs if j.live]
    # One heap of slots for the queue and one per key (limited by maxRunningPerKey).
    slots = _slots(live, max_running, mean, now) if max_running is not None else None
    key_slots: dict[str, list[dt.datetime]] = {}
    rate = spec.get("rateLimit")
    starts = sorted(j.created for j in jobs)
    result: list[dt.datetime | None] = []
    for waiter in ordered:
        label = taskqueue.key_label(waiter.ckey) if waiter.ckey is not None else None
        heaps: list[list[dt.datetime]] = [] if slots is None else [slots]
        if per_key is not None and label is not None:
            if label not in key_slots:
                own = [j for j in live if j.ckey_label == label]
                key_slots[label] = _slots(own, per_key, mean, now)
            heaps.append(key_slots[label])
        if any(not heap for heap in heaps):
            result.append(None)  # a limit of 0: nothing starts
            continue
        start = max([now, *(heap[0] for heap in heaps)])
        if start == NEVER:
            result.append(None)
            continue
        if rate is not None and len(starts) >= rate["starts"]:
            start = max(
                start, starts[-rate["starts"]] + dt.timedelta(seconds=rate["periodSeconds"])
            )
        bisect.insort(starts, start)
        result.append(start)
        ends = NEVER if mean is None else start + dt.timedelta(seconds=mean)
        for heap in heaps:
            heapq.heapreplace(heap, ends)
    return result


def position_changed(recorded: int | None, position: int) -> bool:
    """Whether a queued task's recorded status position is to be rewritten: when it halved or
    doubled (so a task that waits at place p costs about log2(p) status writes while it moves
    up, and one start does not rewrite every waiting task)."""
    if recorded is None or recorded <= 0:
        return True
    return position <= recorded // 2 or position >= 2 * recorded
