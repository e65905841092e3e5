"""Drill: the Redis master is SIGKILLed mid-task under Sentinel (a stack of its own: a master, a
replica, three Sentinels; every component holds a `redis+sentinel://` URL). The Sentinels promote
the replica; the runners, the operator and the gateway reach it on their own; every task ends
with its phase and result, its runner writing on to the new master; every SSE follower reaches
`end` and is told, with a `gap`, that the entries written just before the failover may be lost.
Prints the failover time (kill → the Sentinels name the new master → a write through them
succeeds) and the entries the followers had received that the new master lacks (lost to
asynchronous replication).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from kubernetes import client, config
from longtask.core import events, keys, resource
from longtask.devstack import redissentinel, redisserver
from longtask.devstack.stack import Stack

from tests.drills.conftest import FINAL, Cluster, Followers, python_task
from tests.fixtures.waiting import wait_for

PHASE = resource.Phase
TASKS = 10


@pytest.fixture(scope="module")
def sentinel_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = Stack.start(
        tmp_path_factory.mktemp("sentinel"), operator=True, gateway=True, sentinel=True
    )
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def sentinel_cluster(sentinel_stack: Stack) -> Iterator[Cluster]:
    api = config.new_client_from_config(config_file=str(sentinel_stack.kubeconfig))
    name = f"drill-{secrets.token_hex(3)}"
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield Cluster(sentinel_stack, api, name)
    core.delete_namespace(name)
    api.close()


def master(stack: Stack) -> redis.Redis:
    """The admin's client of the current master (found through the Sentinels)."""
    sentinels = [("127.0.0.1", p) for p in stack.sentinel_ports]
    found = redis.sentinel.Sentinel(sentinels, socket_timeout=2)
    new: redis.Redis = found.master_for(
        redissentinel.SERVICE,
        socket_timeout=2,
        decode_responses=True,
        username=redisserver.ADMIN,
        password=stack.redis_passwords.admin,
    )
    return new


def test_redis_master_killed_mid_task_sentinel_fails_over_and_losses_are_announced(
    sentinel_stack: Stack, sentinel_cluster: Cluster
) -> None:
    cluster, stack = sentinel_cluster, sentinel_stack
    assert stack.redis_url.startswith("redis+sentinel://")
    expected = {}
    for index in range(TASKS):
        fails = index % 5 == 4
        name = f"report-{index}"
        params = {"seconds": 20, "rate": 10, "permanent": fails}
        cluster.create(name, python_task("report", params))
        expected[name] = PHASE.FAILED if fails else PHASE.SUCCEEDED

    def all_reporting() -> bool:
        found = cluster.tasks().values()
        return len(found) == TASKS and all((t.get("status") or {}).get("progress") for t in found)

    wait_for(all_reporting, 120, f"all {TASKS} tasks reporting progress")
    followers = Followers(stack.token)
    old: str | None = None
    try:
        clients = {name: followers.follow(cluster.events_url(name)) for name in expected}
        wait_for(lambda: all(len(c.events) > 3 for c in clients.values()), 60, "progress events")

        old = stack.redis_master()
        killed_ms = int(time.time() * 1000)
        killed = time.monotonic()
        os.kill(stack.procs[old].pid, signal.SIGKILL)
        wait_for(lambda: stack.redis_master() != old, 60, "the Sentinels naming a new master")
        promoted = time.monotonic() - killed
        new = master(stack)
        wait_for(lambda: _writes(new), 30, "a write through the Sentinels")
        writable = time.monotonic() - killed

        tasks = cluster.wait_all(FINAL, 180)
        followers.wait_done(120)
        received: dict[str, set[str]] = {}
        for name, phase in expected.items():
            status, uid = tasks[name]["status"], tasks[name]["metadata"]["uid"]
            assert status["phase"] == phase, (name, status)
            assert status["attempt"] == 1, (name, status)
            if phase == PHASE.SUCCEEDED:  # the result lives in Kubernetes: never lost
                assert status.get("result", {}).get("calls", 0) > 0, (name, status)
            follower = clients[name]
            assert follower.ended and follower.events[-1].event == "end", (name, follower.errors)
            gaps = follower.of_type("gap")
            seen = [e.event for e in follower.events]
            # never silent
            assert gaps, (name, follower.connections, follower.errors, Counter(seen), seen[-5:])
            assert json.loads(gaps[0].data)["after"] in {e.id for e in follower.events if e.id}
            stream = {i for i, _ in new.xrange(keys.events(uid), "-", "+")}
            found = [json.loads(f["data"]) for _, f in new.xrange(keys.events(uid))]
            kinds = Counter(event["type"] for event in found)
            assert kinds[events.EventType.END] == 1, (name, kinds)  # repaired if it was lost
            # The runner reached the new master (as its own user, which the operator made again
            # there: ACL users do not replicate).
            later = [e for e in found if e["type"] == "progress" and e["ts"] > killed_ms + 5000]
            assert later, (name, kinds)
            received[name] = {e.id for e in follower.events if e.id} - stream
        lost = sum(len(ids) for ids in received.values())
        log = (stack.state_dir / "logs" / "operator.log").read_text(errors="replace")
        assert "sync failed" not in log  # task users made again on the new master, no error
        print(
            f"\nRedis failover: master {old} killed; new master named after {promoted:.2f} s, "
            f"writable after {writable:.2f} s; entries followers had received that the new "
            f"master lacks: {lost} over {TASKS} tasks"
        )
    finally:
        followers.close()
        if old is not None:
            stack.restart_redis_process(old)  # it rejoins as a replica of the new master


def _writes(r: redis.Redis) -> bool:
    try:
        r.set("longtask:drill:probe", "1", ex=60)
    except (redis.RedisError, OSError):
        return False
    return True
