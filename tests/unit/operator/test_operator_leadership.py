"""The leadership guard, the lease settings, and the API client that refuses a non-leader's
writes (the election itself runs against the real API server in the integration tests)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiohttp import web
from longtask.kubeclient import rawjson
from longtask.operator import kube, leadership, publishing, settings
from longtask.operator.controller import Controller
from longtask.operator.kube import Kube
from longtask.operator.metrics import Metrics
from prometheus_client import generate_latest

from tests.fixtures.apistandin import standing_in
from tests.fixtures.operator import make_task


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_guard_holds_until_the_deadline_and_not_a_moment_after() -> None:
    clock = Clock()
    guard = leadership.Leadership(clock)
    assert not guard.holds()  # a candidate never writes before it has won
    guard.extend(clock.now + 10)
    clock.now += 9.999
    assert guard.holds()
    guard.check("PATCH /status")
    clock.now += 0.001
    assert not guard.holds()
    with pytest.raises(leadership.NotLeader, match="PATCH /status"):
        guard.check("PATCH /status")
    assert guard.refused == 1


def test_a_revoked_guard_refuses_at_once() -> None:
    clock = Clock()
    guard = leadership.Leadership(clock)
    guard.extend(clock.now + 10)
    guard.revoke()
    assert not guard.holds()


def test_without_an_election_the_one_replica_always_writes() -> None:
    assert leadership.Leadership(Clock(), always=True).holds()


def test_lease_settings_from_the_environment() -> None:
    lease = settings.from_env(
        {
            "LONGTASK_LEASE_NAME": "lt",
            "LONGTASK_LEASE_NAMESPACE": "ops",
            "LONGTASK_LEASE_IDENTITY": "pod-a",
            "LONGTASK_LEASE_DURATION_SECONDS": "6",
            "LONGTASK_LEASE_RENEW_DEADLINE_SECONDS": "4",
            "LONGTASK_LEASE_RETRY_PERIOD_SECONDS": "0.5",
        }
    ).lease
    assert lease == leadership.LeaseSettings(True, "lt", "ops", "pod-a", 6.0, 4.0, 0.5)
    defaults = settings.from_env({}).lease
    assert (defaults.enabled, defaults.name) == (True, "longtask-operator")
    assert (defaults.duration_seconds, defaults.renew_deadline_seconds) == (15.0, 10.0)
    assert defaults.retry_period_seconds == 2.0
    assert not settings.from_env({"LONGTASK_LEADER_ELECTION": "false"}).lease.enabled


@pytest.mark.parametrize(
    ("duration", "deadline", "retry", "problem"),
    [
        ("10", "10", "2", "renew deadline must be below its duration"),
        ("15", "10", "10", "retry period must be below its renew deadline"),
        ("15", "10", "0", "retry period must be below its renew deadline"),
        ("7.5", "5", "1", "whole seconds"),
    ],
)
def test_lease_timings_that_could_let_two_replicas_write_are_refused(
    duration: str, deadline: str, retry: str, problem: str
) -> None:
    env = {
        "LONGTASK_LEASE_DURATION_SECONDS": duration,
        "LONGTASK_LEASE_RENEW_DEADLINE_SECONDS": deadline,
        "LONGTASK_LEASE_RETRY_PERIOD_SECONDS": retry,
    }
    with pytest.raises(ValueError, match=problem):
        settings.from_env(env)


def test_a_fresh_identity_names_the_host_and_differs_per_process() -> None:
    first, second = leadership.new_identity(), leadership.new_identity()
    assert first != second
    assert first.rsplit("_", 1)[0] == second.rsplit("_", 1)[0]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_the_api_client_refuses_every_write_of_a_non_leader(method: str) -> None:
    guard = leadership.Leadership(Clock())
    api = kube.GuardedApiClient(guard, "pod-a")
    try:
        with pytest.raises(leadership.NotLeader):
            # Refused before any connection is made: nothing listens on this address.
            await api.request(method, "https://127.0.0.1:9/apis/batch/v1/namespaces/x/jobs")
    finally:
        await api.close()
    assert guard.refused == 1
    assert api.user_agent == "longtask-operator/pod-a"


@pytest.mark.parametrize("guard_closes", [True, False])
async def test_a_write_that_waited_for_its_connection_is_asked_about_again(
    guard_closes: bool,
) -> None:
    """The write passes the guard, then waits for the one connection, which a slow read holds;
    meanwhile the guard closes. It must never reach the server (it would arrive as a second
    writer's); with the guard still open it goes out as usual."""
    clock = Clock()
    guard = leadership.Leadership(clock)
    guard.extend(clock() + 10)
    reading, release, checked = asyncio.Event(), asyncio.Event(), asyncio.Event()
    check = guard.check

    def checking(what: str) -> None:
        check(what)
        checked.set()

    guard.check = checking  # type: ignore[method-assign]

    async def answer(request: web.Request, body: Any) -> web.Response:
        if request.method == "GET":
            reading.set()
            await release.wait()
        return web.json_response(body or {})

    async with standing_in(answer) as (configuration, seen):
        configuration.connection_pool_maxsize = 1
        api = kube.GuardedApiClient(guard, "pod-a", configuration)
        calls = rawjson.Client(api, request_timeout=10)
        try:
            read = asyncio.create_task(calls.call("GET", "/api/v1/namespaces/x/pods"))
            await reading.wait()
            write = asyncio.create_task(calls.call("POST", JOBS, {"metadata": {"name": "j"}}))
            async with asyncio.timeout(5):
                await checked.wait()  # it passed the first check, and waits for the connection
            if guard_closes:
                clock.now += 10
            release.set()
            await read
            if guard_closes:
                with pytest.raises(leadership.NotLeader):
                    await write
            else:
                assert await write == {"metadata": {"name": "j"}}
        finally:
            await api.close()
    assert [s["method"] for s in seen] == ["GET"] if guard_closes else ["GET", "POST"]
    assert guard.refused == int(guard_closes)


JOBS = "/apis/batch/v1/namespaces/x/jobs"


async def test_redis_writes_queued_by_a_replica_that_stopped_leading_are_dropped() -> None:
    guard = leadership.Leadership(Clock())
    publisher = publishing.Publisher("redis://127.0.0.1:9/0", may_write=guard.holds)
    publisher.submit([publishing.Command("hset", "k", {"a": "1"})])
    try:
        assert publisher.backlog > 0
        assert not await publisher.flush()  # nothing sent: nothing listens there either
        assert publisher.backlog == 0
    finally:
        await publisher.close()


def test_a_standby_exports_no_task_gauges_and_the_leader_does() -> None:
    clock = Clock()
    guard = leadership.Leadership(clock)
    metrics = Metrics()
    controller = Controller(
        settings.Settings(),
        cast(Kube, type("K", (), {"writes": {}})()),
        publishing.Publisher(""),
        metrics,
        guard=guard,
    )
    metrics.watch_leadership(guard)
    controller.task_event("ADDED", make_task(status={"phase": "Running"}))

    def exported() -> str:
        return generate_latest(metrics.registry).decode()

    assert "longtask_tasks_running{" not in exported()
    assert "longtask_operator_leader 0.0" in exported()
    guard.extend(clock.now + 10)
    assert 'longtask_tasks_running{namespace="ns"} 1.0' in exported()
    assert "longtask_operator_leader 1.0" in exported()
