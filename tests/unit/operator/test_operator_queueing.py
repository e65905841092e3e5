"""Admission to a LongTaskQueue: order, limits, fairness between keys, rate limits, ETA, and the
coarse refresh of a queued task's recorded place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from longtask.core import taskqueue
from longtask.core.resource import Reason
from longtask.core.taskqueue import QueueSpec
from longtask.operator import clock, queueing
from longtask.operator.queueing import Attempt, Waiter

from tests.fixtures.operator import T0, make_job, make_task

NOW = T0


def waiter(name: str, seconds_ago: float = 0, priority: int = 0, ckey: str | None = None) -> Waiter:
    created = NOW - dt.timedelta(seconds=seconds_ago)
    return Waiter(("ns", name), f"uid-{name}", priority, created, created, ckey)


def live(name: str, seconds_ago: float = 0, ckey: str | None = None) -> Attempt:
    created = NOW - dt.timedelta(seconds=seconds_ago)
    label = taskqueue.key_label(ckey) if ckey is not None else None
    return Attempt(name, created, live=True, ckey_label=label, started=created)


def done(name: str, seconds_ago: float, duration: float) -> Attempt:
    created = NOW - dt.timedelta(seconds=seconds_ago)
    finished = created + dt.timedelta(seconds=duration)
    return Attempt(name, created, False, None, duration, finished, created)


def view(spec: dict[str, Any], waiters: list[Waiter], jobs: list[Attempt]) -> queueing.View:
    return queueing.view("q", "ns", QueueSpec(**spec), waiters, jobs, NOW)  # type: ignore[typeddict-item]


def names(keys: list[tuple[str, str]]) -> list[str]:
    return [k[1] for k in keys]


def test_the_first_tasks_that_fit_are_admitted_the_others_say_why_they_wait() -> None:
    found = view(
        {"maxRunning": 3},
        [waiter("a", 30), waiter("b", 20), waiter("c", 10)],
        [
            live("x-1"),
            live("y-1"),
        ],
    )
    assert names(found.admitted()) == ["a"]
    b, c = found.verdict(("ns", "b")), found.verdict(("ns", "c"))
    assert b is not None and c is not None
    assert (b.position, b.reason, b.message) == (
        1,
        Reason.QUEUE_FULL,
        "1st in queue q: 3 of 3 running",
    )
    assert (c.position, c.message) == (2, "2nd in queue q: 3 of 3 running")
    assert found.running == 2 and found.queued == 2
    assert found.oldest == NOW - dt.timedelta(seconds=20)


def test_higher_priority_first_then_older() -> None:
    found = view(
        {"maxRunning": 0},
        [waiter("old", 30), waiter("urgent", 5, priority=10), waiter("new", 10)],
        [],
    )
    assert [w.key[1] for w in found.order] == ["urgent", "old", "new"]
    assert [found.verdicts[w.key].position for w in found.order] == [1, 2, 3]


def test_keys_take_turns_so_b_does_not_wait_for_all_of_a() -> None:
    a = [waiter(f"a{i}", 100 - i, ckey="A") for i in range(10)]
    b = [waiter(f"b{i}", 50 - i, ckey="B") for i in range(2)]
    spec = {"maxRunning": 3, "concurrencyKey": {"label": "tenant"}, "maxRunningPerKey": 1}
    found = view(spec, a + b, [])
    assert names(found.admitted()) == ["a0", "b0"]
    a1 = found.verdict(("ns", "a1"))
    assert a1 is not None and a1.reason is Reason.KEY_LIMIT
    assert a1.message == "1st in queue q: key 'A' has 1 of 1 running"
    # Without a per-key limit the turns still interleave the keys.
    found = view(
        {"maxRunning": 2, "concurrencyKey": {"label": "tenant"}}, a + b, [live("a-x", ckey="A")]
    )
    assert names(found.admitted()) == ["b0"]
    assert [w.key[1] for w in found.order[:4]] == ["b0", "a0", "b1", "a1"]


def test_the_rate_limit_counts_starts_in_the_window_and_says_when_the_next_may_go() -> None:
    jobs = [live("x-1", 10), done("y-1", 50, 5), done("z-1", 120, 5)]
    spec = {"rateLimit": {"starts": 2, "periodSeconds": 60}}
    found = view(spec, [waiter("a", 5)], jobs)
    verdict = found.verdict(("ns", "a"))
    assert verdict is not None and verdict.reason is Reason.RATE_LIMITED
    assert verdict.message == "1st in queue q: 2 of 2 starts in the last 60s, next start in 10s"
    assert found.recheck_after == 10.0
    assert names(view(spec, [waiter("a", 5)], jobs[:1]).admitted()) == ["a"]


def test_a_suspended_queue_admits_nothing() -> None:
    found = view({"suspend": True}, [waiter("a")], [])
    verdict = found.verdict(("ns", "a"))
    assert found.admitted() == [] and verdict is not None
    assert verdict.reason is Reason.QUEUE_SUSPENDED and verdict.eta is None
    assert verdict.message == "1st in queue q: the queue is suspended"


def test_the_eta_follows_the_mean_duration_of_recent_attempts() -> None:
    jobs = [live("x-1", 30), done("y-1", 300, 60), done("z-1", 400, 60)]
    found = view({"maxRunning": 1}, [waiter("a", 10), waiter("b", 5)], jobs)
    etas = [found.verdicts[w.key].eta for w in found.order]
    assert etas == [NOW + dt.timedelta(seconds=30), NOW + dt.timedelta(seconds=90)]
    # No finished attempt yet: a full queue cannot say.
    assert view({"maxRunning": 1}, [waiter("a")], jobs[:1]).verdicts[("ns", "a")].eta is None


def test_the_eta_waits_for_a_slot_of_the_task_s_key_too() -> None:
    spec = {"maxRunning": 3, "concurrencyKey": {"label": "tenant"}, "maxRunningPerKey": 1}
    jobs = [live("x-1", 30, ckey="A"), done("y-1", 300, 60)]
    found = view(spec, [waiter("a1", 20, ckey="A"), waiter("a2", 10, ckey="A")], jobs)
    etas = [found.verdicts[w.key].eta for w in found.order]
    # The queue has two free slots, but key A runs one of its one: each waits for the last.
    assert etas == [NOW + dt.timedelta(seconds=30), NOW + dt.timedelta(seconds=90)]
    # Another key's task takes a free slot of the queue at once.
    other = view(spec, [waiter("a1", 20, ckey="A"), waiter("b1", 10, ckey="B")], jobs)
    assert other.verdict(("ns", "b1")) == queueing.Verdict(
        True, 0, Reason.ADMITTED, "admitted by queue q", NOW
    )
    a1 = other.verdict(("ns", "a1"))
    assert a1 is not None and a1.eta == NOW + dt.timedelta(seconds=30)


def test_gather_counts_jobs_of_the_queue_and_skips_tasks_already_admitted() -> None:
    labels = {taskqueue.LABEL_QUEUE: "q"}
    job = make_job("started-1")
    job["metadata"]["labels"] |= labels
    job["metadata"]["creationTimestamp"] = clock.format_time(NOW)
    other = make_job("elsewhere-1")
    tasks = [
        make_task("started", spec={"command": ["x"], "queue": "q"}),  # its Job exists
        make_task("fresh", spec={"command": ["x"], "queue": "q", "priority": 3}),
        make_task("cancelled", spec={"command": ["x"], "queue": "q", "cancel": True}),
        make_task("running", spec={"command": ["x"], "queue": "q"}, status={"phase": "Running"}),
        make_task("unqueued", spec={"command": ["x"]}),
    ]
    waiters, attempts = queueing.gather("q", "ns", QueueSpec(), tasks, [job, other], NOW)
    assert [w.key[1] for w in waiters] == ["fresh"] and waiters[0].priority == 3
    assert [a.name for a in attempts] == ["started-1"] and attempts[0].live


def test_a_retry_backing_off_waits_outside_the_queue_then_keeps_its_place() -> None:
    due = clock.format_time(NOW + dt.timedelta(seconds=5))
    retrying = make_task(spec={"queue": "q"}, status={"phase": "Retrying", "nextAttemptTime": due})
    assert queueing.waiting(retrying, NOW) is None
    later = NOW + dt.timedelta(seconds=6)
    assert queueing.waiting(retrying, later) == NOW + dt.timedelta(seconds=5)
    waiters, _ = queueing.gather("q", "ns", QueueSpec(), [retrying], [], later)
    assert waiters[0].created == clock.parse_time("2026-01-01T11:59:00Z")  # ranks by creation


def test_the_recorded_place_is_rewritten_when_it_halves_or_doubles() -> None:
    assert queueing.position_changed(None, 7)
    assert not queueing.position_changed(8, 5)
    assert queueing.position_changed(8, 4)
    assert queueing.position_changed(3, 6)
    assert queueing.position_changed(2, 1)
    # Draining 1,000 tasks rewrites the place of the last one about log2(1000) times.
    recorded, writes = 1000, 0
    for position in range(999, 0, -1):
        if queueing.position_changed(recorded, position):
            recorded, writes = position, writes + 1
    assert writes == 9


def test_ordinals() -> None:
    assert [queueing.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "102nd", "111th",
    ]  # fmt: skip
