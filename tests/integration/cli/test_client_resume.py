"""`events()` over a gateway restart while a real task runs: every entry of the task's Redis
stream arrives once, in order, although the connection broke in the middle."""

from __future__ import annotations

import dataclasses
from typing import Any

import redis
from longtask.client import Client
from longtask.core import keys

from tests.fixtures.gateway import GatewayFactory
from tests.fixtures.operator import OperatorProcess
from tests.integration.cli.conftest import progress_command


def test_events_survive_a_gateway_restart_without_gap_or_duplicate(
    gateway_factory: GatewayFactory,
    operator_proc: OperatorProcess,
    op_namespace: str,
    redis_client: redis.Redis,
) -> None:
    gw = gateway_factory()
    with Client(gw.url, gw.key, namespace=op_namespace, give_up_after=60) as lt:
        lt.config = dataclasses.replace(lt.config, initial_delay=0.1)
        task = lt.submit(command=progress_command(steps=40, pause=0.1), name="restarted")
        got = []
        restarted_pid: int | None = None
        for event in lt.events(task.name):
            got.append(event)
            if restarted_pid is None and (event.progress or 0) >= 25 and event.type == "progress":
                old = gw.proc.pid if gw.proc else None
                gw.restart()  # the task runs on while the gateway is down
                restarted_pid = gw.proc.pid if gw.proc else None
                assert restarted_pid != old
    assert restarted_pid is not None, "the task ended before the restart"
    entries: Any = redis_client.xrange(keys.events(task.uid))
    stream_ids = [str(entry_id) for entry_id, _ in entries]
    received = [e.id for e in got if e.id is not None]
    assert received == stream_ids
    assert got[-1].is_end
    # Two connections at least: each began with a snapshot.
    assert sum(e.type == "snapshot" for e in got) >= 2
