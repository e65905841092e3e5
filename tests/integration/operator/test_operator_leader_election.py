"""Leader election against the real API server: two electors over one Lease, in one process, so
both read the same clock and the order of "one stops writing" and "the other starts" is exact.

Short timings (a 3 s lease) keep these quick; the drills run the real operators with defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client, config
from longtask.devstack.stack import Stack
from longtask.operator import leadership

LEASE = leadership.LeaseSettings(
    name="", namespace="default", duration_seconds=3, renew_deadline_seconds=2,
    retry_period_seconds=0.25,
)  # fmt: skip


class Replica:
    """One elector and a record of when its guard opened and closed (election clock)."""

    def __init__(self, api: client.ApiClient, lease: leadership.LeaseSettings, name: str) -> None:
        self.guard = leadership.Leadership()
        self.led_at: list[float] = []
        self.resigned_at: list[float] = []
        self.elector = leadership.Elector(
            dataclasses.replace(lease, identity=name),
            api,
            self.guard,
            on_lead=self._lead,
            on_resign=self._resign,
        )
        self.task: asyncio.Task[None] | None = None
        self.leading = asyncio.Event()
        self.resigned = asyncio.Event()

    async def _lead(self) -> None:
        self.led_at.append(leadership.now())
        self.leading.set()

    async def _resign(self) -> None:
        self.resigned_at.append(leadership.now())
        self.resigned.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self.elector.run())

    async def halt(self) -> None:
        """Stop trying and renewing (a crash or a partition: the guard runs out on its own)."""
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def until(event: asyncio.Event, seconds: float, what: str) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}") from None


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(str(stack.kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture
def lease() -> leadership.LeaseSettings:
    return dataclasses.replace(LEASE, name=f"lt-{secrets.token_hex(4)}")


async def read_lease(api: client.ApiClient, lease: leadership.LeaseSettings) -> dict[str, Any]:
    found = await client.CoordinationV1Api(api).read_namespaced_lease(lease.name, lease.namespace)
    return dict(api.sanitize_for_serialization(found))


async def test_one_of_two_leads_and_a_release_hands_over_at_once(
    api: client.ApiClient, lease: leadership.LeaseSettings
) -> None:
    # A long lease and long tries: b would wait 60 s for the lease to expire, or 8 s for its next
    # try; it watches the Lease and takes it as soon as it is released.
    lease = dataclasses.replace(
        lease, duration_seconds=60, renew_deadline_seconds=30, retry_period_seconds=8
    )
    a, b = Replica(api, lease, "a"), Replica(api, lease, "b")
    a.start()
    await until(a.leading, 10, "a leading")
    b.start()
    await asyncio.sleep(1)  # b's first try found a holding the Lease
    assert a.guard.holds() and not b.guard.holds()
    assert (await read_lease(api, lease))["spec"]["holderIdentity"] == "a"

    await a.halt()
    await a.elector.release()
    assert not a.guard.holds()
    await until(b.leading, 4, "b leading, well before its next try")
    spec = (await read_lease(api, lease))["spec"]
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)
    await b.halt()


async def test_a_leader_cut_off_stops_writing_before_the_other_may_start(
    api: client.ApiClient, lease: leadership.LeaseSettings
) -> None:
    a, b = Replica(api, lease, "a"), Replica(api, lease, "b")
    a.start()
    await until(a.leading, 10, "a leading")
    b.start()
    await asyncio.sleep(2 * lease.retry_period_seconds)
    await a.halt()  # a can no longer renew: it still believes it leads until its guard closes
    await until(b.leading, 3 * lease.duration_seconds, "b leading")
    assert not a.guard.holds()
    # The guard of a closed (it stopped writing) before b's term began, by the margin at least.
    margin = lease.duration_seconds - lease.renew_deadline_seconds
    assert a.guard.until <= b.led_at[0] - margin
    await b.halt()


async def test_a_leader_resumed_after_its_deadline_resigns_and_stands_by(
    api: client.ApiClient, lease: leadership.LeaseSettings
) -> None:
    a, b = Replica(api, lease, "a"), Replica(api, lease, "b")
    a.start()
    await until(a.leading, 10, "a leading")
    await a.halt()
    b.start()
    await until(b.leading, 3 * lease.duration_seconds, "b leading")
    a.start()  # a resumes (as after SIGCONT): its deadline has passed, b holds the Lease
    await until(a.resigned, 10, "a resigning")
    await asyncio.sleep(4 * lease.retry_period_seconds)
    assert b.guard.holds() and not a.guard.holds() and not a.elector.leading
    await a.halt()
    await b.halt()
