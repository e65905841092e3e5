"""Drills of a pair of operators electing a leader over a Lease (the chart's two replicas):
the leader SIGKILLed with 60 tasks in flight (running, in backoff, queued), a rolling restart
(SIGTERM) of both while 20 tasks run, and the leader frozen (SIGSTOP) past its lease and resumed
(SIGCONT) — a partition.

Who wrote what comes from the API server's audit log (every write to the drill's namespace, with
the writer's user agent, `longtask-operator/<identity>`): ordered by arrival, the writers must
form one unbroken run per term — a write of the old leader after the new one's first would be two
writers at once. Each drill prints the handover it measured (kill or SIGTERM → the other holds
the Lease, from polling the Lease every 50 ms).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import os
import signal
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kubernetes import client
from longtask.core import events, keys, resource, taskqueue
from longtask.core import metrics as metricnames
from longtask.devstack import controlplane, procs
from longtask.devstack.stack import Stack
from longtask.operator import leadership

from tests.drills.conftest import FINAL, Cluster, retry, stream_events
from tests.fixtures.waiting import wait_for

PHASE = resource.Phase
LEASE = leadership.LeaseSettings()  # the operators run with the defaults
PAIR = ("operator", "operator-2")
# name prefix → (count, shell script, retry policy, final phase, attempts)
Groups = dict[str, tuple[int, str, dict[str, Any], str, int]]
IN_FLIGHT: Groups = {
    "ok": (20, "sleep 8", retry(3, 5), PHASE.SUCCEEDED, 1),
    "second": (
        15,
        'test "$LONGTASK_ATTEMPT" -ge 2 || exit 1; sleep 2',
        retry(3, 8),
        PHASE.SUCCEEDED,
        2,
    ),
    "dead": (10, "sleep 1; exit 1", retry(2, 8), PHASE.FAILED, 2),
    "permanent": (5, "sleep 2; exit 3", retry(3, 5), PHASE.FAILED, 1),
}
# Tasks of the queue QUEUE (two at a time): most of them wait, Queued, when the leader dies.
QUEUE = "drill"
QUEUED: Groups = {"queued": (10, "sleep 6", retry(3, 5), PHASE.SUCCEEDED, 1)}
RUNNING: Groups = {"long": (20, "sleep 12", retry(2, 5), PHASE.SUCCEEDED, 1)}


@dataclasses.dataclass(frozen=True)
class Write:
    at: dt.datetime
    writer: str
    verb: str
    resource: str
    name: str
    code: int


class Pair:
    """The drill stack's operator and a second one, and the Lease they share."""

    def __init__(self, stack: Stack, api: client.ApiClient) -> None:
        self.stack = stack
        self.leases = client.CoordinationV1Api(api)

    def holder(self) -> str | None:
        lease = self.leases.read_namespaced_lease(LEASE.name, "default")
        return lease.spec.holder_identity or None

    def wait_holder(self, timeout: float = 60) -> str:
        found: str = wait_for(self.holder, timeout, "a leader")
        return found

    def standby(self) -> str:
        leader = self.holder()
        return next(name for name in PAIR if name != leader)

    def signal(self, name: str, sig: signal.Signals) -> None:
        os.kill(self.stack.procs[name].pid, sig)

    def kill(self, name: str) -> None:
        self.signal(name, signal.SIGKILL)
        procs.stop(self.stack.procs[name])  # reaps it

    def handover(self, old: str, timeout: float) -> float:
        """Seconds from now until another replica than `old` holds the Lease."""
        began = time.monotonic()
        wait_for(lambda: self.holder() not in (old, None), timeout, f"a leader other than {old}")
        return time.monotonic() - began

    def metrics(self, name: str) -> list[str]:
        with urllib.request.urlopen(self.stack.operator_urls[name], timeout=5) as response:
            lines: list[str] = response.read().decode().splitlines()
        return lines

    def leads(self, name: str) -> bool:
        return "longtask_operator_leader 1.0" in self.metrics(name)

    def refused(self, name: str) -> int:
        """Writes `name`'s guard refused so far."""
        prefix = metricnames.OPERATOR_WRITES_REFUSED + " "
        return int(float(next(x for x in self.metrics(name) if x.startswith(prefix)).split()[1]))

    def writes(self, namespace: str, since: dt.datetime) -> list[Write]:
        """The operators' writes to `namespace` since `since`, by arrival at the API server."""
        found = []
        for line in controlplane.audit_log(self.stack.state_dir).read_text().splitlines():
            entry = json.loads(line)
            agent, ref = entry.get("userAgent", ""), entry.get("objectRef") or {}
            if not agent.startswith("longtask-operator/") or ref.get("namespace") != namespace:
                continue
            at = dt.datetime.fromisoformat(entry["requestReceivedTimestamp"])
            kind = "/".join(p for p in (ref.get("resource"), ref.get("subresource")) if p)
            code = int((entry.get("responseStatus") or {}).get("code") or 0)
            writer = agent.split("/", 1)[1]
            if at >= since:
                found.append(Write(at, writer, entry["verb"], kind, ref.get("name", ""), code))
        return sorted(found, key=lambda w: w.at)


def terms(writes: list[Write]) -> list[str]:
    """The writers in order of arrival, each unbroken run once."""
    return [writer for writer, _ in itertools.groupby(w.writer for w in writes)]


def in_order(found: list[str], expected: list[str]) -> bool:
    """Whether `found` is `expected` with some items left out."""
    rest = iter(expected)
    return all(item in rest for item in found)


@pytest.fixture
def pair(drill_stack: Stack, drill_k8s: client.ApiClient) -> Iterator[Pair]:
    """A second operator beside the drill stack's; afterwards the stack has one again."""
    drill_stack.start_operator(PAIR[1])
    both = Pair(drill_stack, drill_k8s)
    for name in PAIR:
        wait_up(drill_stack, name)
    both.wait_holder()
    yield both
    for name in PAIR:  # whichever is stopped or frozen comes back
        if drill_stack.procs[name].alive():
            both.signal(name, signal.SIGCONT)
    drill_stack.stop_component(PAIR[1])
    if not drill_stack.procs[PAIR[0]].alive():
        drill_stack.start_operator(PAIR[0])
    try:
        wait_for(lambda: both.holder() == PAIR[0], LEASE.duration_seconds * 3, "operator leading")
    except AssertionError as exc:
        log = drill_stack.state_dir / "logs" / f"{PAIR[0]}.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise AssertionError(f"{exc}; holder {both.holder()}; its log ends:\n{tail}") from None


def wait_up(stack: Stack, name: str) -> None:
    port = int(stack.operator_urls[name].rsplit(":", 1)[1].split("/")[0])
    wait_for(lambda: procs.port_open(port), 60, f"{name} serving its metrics")


def create(cluster: Cluster, groups: Groups, **spec: Any) -> None:
    for prefix, (count, script, policy, _, _) in groups.items():
        for index in range(count):
            command = {"command": ["sh", "-c", script], "retry": policy}
            cluster.create(f"{prefix}-{index}", command | spec)


def create_queue(cluster: Cluster, name: str, max_running: int) -> None:
    body = {
        "apiVersion": taskqueue.API_VERSION,
        "kind": taskqueue.KIND,
        "metadata": {"name": name},
        "spec": {"maxRunning": max_running},
    }
    cluster.custom.create_namespaced_custom_object(
        taskqueue.GROUP, taskqueue.VERSION, cluster.namespace, taskqueue.PLURAL, body
    )


def check_ends(cluster: Cluster, r: redis.Redis, groups: Groups, timeout: float) -> None:
    """Every task in its phase after its attempts, one Job per attempt, one `end` each."""
    tasks = cluster.wait_all(FINAL, timeout)
    jobs = cluster.jobs_by_uid()
    for name, task in sorted(tasks.items()):
        _, _, _, phase, attempts = groups[name.split("-")[0]]
        status, uid = task["status"], task["metadata"]["uid"]
        assert status["phase"] == phase, (name, status)
        assert [a["number"] for a in status["attempts"]] == list(range(1, attempts + 1)), name
        assert sorted(jobs.get(uid, [])) == [f"{name}-{n}" for n in range(1, attempts + 1)], name
        kinds = Counter(event["type"] for _, event in stream_events(r, uid))
        assert kinds[events.EventType.END] == 1, (name, kinds)


def check_one_job_create_each(writes: list[Write]) -> None:
    created = Counter(
        w.name for w in writes if (w.verb, w.resource, w.code) == ("create", "jobs", 201)
    )
    assert created and max(created.values()) == 1, created  # fmt: skip


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_leader_sigkilled_with_60_tasks_in_flight_the_standby_takes_over(
    pair: Pair, cluster: Cluster, drill_redis: redis.Redis
) -> None:
    began = now()
    create_queue(cluster, QUEUE, max_running=2)
    create(cluster, QUEUED, queue=QUEUE)
    create(cluster, IN_FLIGHT)

    def in_flight() -> bool:
        phases = Counter(cluster.phases().values())
        return (
            phases[PHASE.RUNNING] >= 10
            and phases[PHASE.RETRYING] >= 5
            and phases[PHASE.QUEUED] >= 3
        )

    wait_for(in_flight, 180, "tasks running, in backoff and queued")
    leader, standby = pair.holder(), pair.standby()
    assert leader is not None
    pair.kill(leader)
    # The bound of the design: the lease's duration from the last renewal seen, plus one try.
    took = pair.handover(leader, LEASE.duration_seconds + LEASE.retry_period_seconds + 5)
    print(f"\nSIGKILL handover: {took:.2f} s (lease {LEASE.duration_seconds:.0f} s)")
    assert pair.holder() == standby
    check_ends(cluster, drill_redis, IN_FLIGHT | QUEUED, 300)
    writes = pair.writes(cluster.namespace, began)
    assert terms(writes) == [leader, standby], terms(writes)
    check_one_job_create_each(writes)


def test_rolling_restart_of_both_operators_hands_over_twice_without_two_writers(
    pair: Pair, drill_stack: Stack, cluster: Cluster, drill_redis: redis.Redis
) -> None:
    began = now()
    create(cluster, RUNNING)
    wait_for(lambda: cluster.count(PHASE.RUNNING) >= 10, 120, "tasks running")
    first = pair.holder()
    assert first is not None
    handovers = []
    for _ in range(2):  # as a Deployment's RollingUpdate: one pod at a time
        leader = pair.holder()
        assert leader is not None
        pair.signal(leader, signal.SIGTERM)
        handovers.append(pair.handover(leader, LEASE.retry_period_seconds + 10))
        procs.stop(drill_stack.procs[leader])  # reaps it once it has ended
        drill_stack.start_operator(leader)
        wait_up(drill_stack, leader)
    print(f"\nSIGTERM handovers: {', '.join(f'{t:.2f} s' for t in handovers)}")
    check_ends(cluster, drill_redis, RUNNING, 180)
    writes = pair.writes(cluster.namespace, began)
    second = next(n for n in PAIR if n != first)
    # A term may pass without a write; two writers at once would add terms that were not.
    assert in_order(terms(writes), [first, second, first]), terms(writes)
    check_one_job_create_each(writes)


def test_leader_frozen_past_its_lease_stops_writing_before_the_other_starts(
    pair: Pair, cluster: Cluster, drill_redis: redis.Redis
) -> None:
    began = now()
    create(cluster, IN_FLIGHT)
    wait_for(lambda: cluster.count(PHASE.RUNNING) >= 10, 180, "tasks running")
    leader, standby = pair.holder(), pair.standby()
    assert leader is not None
    pair.signal(leader, signal.SIGSTOP)  # cut off: it cannot renew, and cannot know it
    took = pair.handover(leader, LEASE.duration_seconds + LEASE.retry_period_seconds + 5)
    # The new leader works a while (Jobs, status) before the old one wakes up.
    wait_for(lambda: standby in terms(pair.writes(cluster.namespace, began)), 30, "new writes")
    pair.signal(leader, signal.SIGCONT)
    print(f"\nSIGSTOP handover: {took:.2f} s")
    wait_for(lambda: pair.leads(standby) and not pair.leads(leader), 30, "one leader")
    # Writes it had under way when frozen, refused when it woke (the guard's second check).
    print(f"writes the frozen leader's guard refused after it woke: {pair.refused(leader)}")
    check_ends(cluster, drill_redis, IN_FLIGHT, 300)
    writes = pair.writes(cluster.namespace, began)
    assert terms(writes) == [leader, standby], terms(writes)
    check_one_job_create_each(writes)
    deadletters = Counter(f.get("uid") for _, f in drill_redis.xrange(keys.DEADLETTER, "-", "+"))
    dead = {t["metadata"]["uid"] for n, t in cluster.tasks().items() if n.startswith("dead")}
    assert all(deadletters[uid] == 1 for uid in dead), deadletters
