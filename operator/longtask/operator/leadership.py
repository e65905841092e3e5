"""Leader election over a `coordination.k8s.io/v1` Lease, and the guard every write checks.

Every replica watches and keeps its stores warm; only the holder of the Lease writes (Jobs,
status patches, Events, provisioning, schedule runs, Redis, the history). The election follows
client-go's `leaderelection` package, so it reads the same to anyone who knows it:

1. A candidate reads the Lease every `retry_period`. It may take it when nobody holds it (never
   created, or released) or when the same record (holder, renewTime, …) has stayed unchanged for
   the record's `leaseDurationSeconds`, measured on the candidate's own clock from when it first
   saw that record. Clocks of different machines are never compared. Taking and renewing are
   replaces with the read resourceVersion, so of two candidates at most one wins.
2. The holder renews every `retry_period`. Its term is counted from the moment it *sent* its last
   successful renewal: the guard (`Leadership.holds`) closes `renew_deadline` after that moment,
   whatever the API server or the network do afterwards, and then every write is refused.
3. Why there are never two writers: any other candidate saw that renewal only after it was sent,
   and waits a whole `lease_duration` from then before it may take the Lease. The old holder's
   guard closed `lease_duration - renew_deadline` earlier (5 s by default). That margin also
   covers a write that passed the guard just before it closed and was still on its way. A write
   is checked twice, the second time once it has its connection, just before its bytes go out
   (`kube.GuardedApiClient`): one that waited for a connection, or in a process frozen
   meanwhile, is refused then. What no check can cover is a process frozen within the step
   between that last check and the socket write, or a network that holds a TCP segment longer
   than the margin; no lease without fencing tokens in the API server can.
4. The clock is CLOCK_BOOTTIME where there is one (Linux): it keeps counting while the process
   is stopped (SIGSTOP) and while the machine sleeps, so a resumed holder finds its term over.
5. On SIGTERM the holder stops its loops, flushes what it owes Redis, closes its guard and then
   releases the Lease (holder cleared). A standby waits between its tries on a watch of the Lease
   and tries at once when it sees it released: a rolling update hands over in the time of one
   try after the release, not up to a whole `retry_period`.
6. A holder whose guard closed goes back to being a candidate with its stores still warm; it
   never needs a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

logger = logging.getLogger(__name__)

DEFAULT_LEASE_NAME = "longtask-operator"
SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
CLOCK = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)  # design choice 4


def now() -> float:
    """Seconds on the election's clock (only differences mean anything)."""
    return time.clock_gettime(CLOCK)


@dataclasses.dataclass(frozen=True)
class LeaseSettings:
    """How the replicas elect the one that writes."""

    enabled: bool = True
    """Elect a leader; off, the one replica writes from its start (never run two then)."""
    name: str = DEFAULT_LEASE_NAME
    """Name of the Lease."""
    namespace: str = ""
    """Namespace of the Lease; empty: the operator's own (from its service account), else
    `default`."""
    identity: str = ""
    """This replica's name in the Lease; empty: the host name and a random suffix."""
    duration_seconds: float = 15.0
    """How long a candidate waits, from when it saw the holder's last renewal, before it may
    take the Lease."""
    renew_deadline_seconds: float = 10.0
    """How long after sending its last successful renewal the holder stops writing."""
    retry_period_seconds: float = 2.0
    """How often the holder renews and a candidate tries."""

    def __post_init__(self) -> None:
        if not 0 < self.retry_period_seconds < self.renew_deadline_seconds:
            raise ValueError("the lease's retry period must be below its renew deadline")
        if self.renew_deadline_seconds >= self.duration_seconds:
            raise ValueError("the lease's renew deadline must be below its duration")
        if self.duration_seconds != math.ceil(self.duration_seconds):
            raise ValueError("the lease's duration is whole seconds (leaseDurationSeconds)")


def settings_from_env(env: Mapping[str, str]) -> LeaseSettings:
    """`LONGTASK_LEADER_ELECTION` (true), `LONGTASK_LEASE_NAME`, `LONGTASK_LEASE_NAMESPACE`,
    `LONGTASK_LEASE_IDENTITY`, `LONGTASK_LEASE_DURATION_SECONDS` (15),
    `LONGTASK_LEASE_RENEW_DEADLINE_SECONDS` (10), `LONGTASK_LEASE_RETRY_PERIOD_SECONDS` (2)."""

    def number(name: str, default: float) -> float:
        raw = env.get(name, "").strip()
        try:
            return float(raw) if raw else default
        except ValueError as exc:
            raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from exc

    enabled = env.get("LONGTASK_LEADER_ELECTION", "true").strip().lower()
    if enabled not in ("", "1", "0", "true", "false", "yes", "no"):
        raise ValueError(f"LONGTASK_LEADER_ELECTION must be true or false, got {enabled!r}")
    return LeaseSettings(
        enabled=enabled in ("", "1", "true", "yes"),
        name=env.get("LONGTASK_LEASE_NAME", "").strip() or DEFAULT_LEASE_NAME,
        namespace=env.get("LONGTASK_LEASE_NAMESPACE", "").strip(),
        identity=env.get("LONGTASK_LEASE_IDENTITY", "").strip(),
        duration_seconds=number("LONGTASK_LEASE_DURATION_SECONDS", 15.0),
        renew_deadline_seconds=number("LONGTASK_LEASE_RENEW_DEADLINE_SECONDS", 10.0),
        retry_period_seconds=number("LONGTASK_LEASE_RETRY_PERIOD_SECONDS", 2.0),
    )


def own_namespace() -> str:
    """The namespace of the operator's service account, or `default` outside a pod."""
    try:
        with open(SERVICE_ACCOUNT_NAMESPACE) as found:
            return found.read().strip() or "default"
    except OSError:
        return "default"


def new_identity() -> str:
    """The host (the pod's name) and a random suffix: a restarted process is a new candidate."""
    host = os.environ.get("HOSTNAME") or socket.gethostname()
    return f"{host}_{secrets.token_hex(4)}"[:128]


class NotLeader(Exception):
    """A write was refused: this replica does not hold the Lease now."""


class Leadership:
    """The guard: whether this replica may write now (design choices 2 and 3)."""

    def __init__(self, clock: Callable[[], float] = now, always: bool = False) -> None:
        self._clock = clock
        self._until = math.inf if always else -math.inf
        self.refused = 0
        """Writes refused so far (a metric)."""

    def holds(self) -> bool:
        return self._clock() < self._until

    def check(self, what: str) -> None:
        """Raise NotLeader (and count it) unless this replica may write now."""
        if not self.holds():
            self.refused += 1
            raise NotLeader(f"not the leader: {what} refused")

    def extend(self, until: float) -> None:
        self._until = until

    def revoke(self) -> None:
        self._until = -math.inf

    @property
    def until(self) -> float:
        return self._until


class Outcome:
    """What one try at the Lease found."""

    ACQUIRED = "acquired"  # held (taken or renewed) by this replica
    HELD = "held"  # another replica holds it (or won the race for it)


Callback = Callable[[], Awaitable[None]]


class Elector:
    """Takes and renews the Lease and calls `on_lead` / `on_resign` as leadership comes and goes.

    Its API client must be one the guard does not watch: the Lease's own writes are what decide
    leadership."""

    def __init__(
        self,
        settings: LeaseSettings,
        api: client.ApiClient,
        leadership: Leadership,
        on_lead: Callback,
        on_resign: Callback,
        clock: Callable[[], float] = now,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self.identity = settings.identity or new_identity()
        self.namespace = settings.namespace or own_namespace()
        self.api = api
        self.leases = client.CoordinationV1Api(api)
        self.leadership = leadership
        self.leading = False
        self.holder: str | None = None
        """Who holds the Lease, as last read (a health detail)."""
        self._on_lead = on_lead
        self._on_resign = on_resign
        self._clock = clock
        self._wall = wall
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = -math.inf

    # The loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Try, renew, lead and resign until cancelled."""
        while True:
            await self.try_once()
            delay = self.settings.retry_period_seconds
            if self.leading:  # wake when the guard closes, to resign at once
                delay = min(delay, max(0.0, self.leadership.until - self._clock()))
                await asyncio.sleep(delay)
            else:
                await self.wait_for_release(delay)

    async def wait_for_release(self, seconds: float) -> None:
        """Wait `seconds`, or less when the Lease is released meanwhile (a watch of it): a
        standby takes a released Lease at once instead of at its next try (design choice 5)."""
        began = self._clock()
        try:
            async with asyncio.timeout(seconds):
                stream = watch.Watch().stream(
                    self.leases.list_namespaced_lease,
                    self.namespace,
                    field_selector=f"metadata.name={self.settings.name}",
                    timeout_seconds=max(1, math.ceil(seconds)),
                )
                async with stream:
                    async for event in stream:
                        lease = event["object"]
                        if event["type"] != "DELETED" and not lease.spec.holder_identity:
                            return
        except TimeoutError:
            return
        except Exception as exc:  # no watch: the period's try finds the release instead
            logger.debug("lease watch: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(max(0.0, seconds - (self._clock() - began)))

    async def try_once(self) -> None:
        """One try at taking or renewing the Lease, and what follows from it."""
        if self.leading and not self.leadership.holds():  # e.g. the process was stopped
            await self.resign("the renew deadline passed")
        sent = self._clock()
        if self.leading:  # a renewal that cannot finish before the guard closes is no use
            timeout = self.leadership.until - sent
        else:
            timeout = self.settings.renew_deadline_seconds
        try:
            outcome: str | None = await asyncio.wait_for(self._acquire_or_renew(), timeout)
        except Exception as exc:  # the API server is away or slow: try again next period
            logger.warning("lease %s: %s: %s", self.settings.name, type(exc).__name__, exc)
            outcome = None
        if outcome == Outcome.ACQUIRED:
            self.leadership.extend(sent + self.settings.renew_deadline_seconds)
            if not self.leading:
                self.leading = True
                logger.info("leading: this replica holds lease %s", self.settings.name)
                await self._on_lead()
            return
        if outcome == Outcome.HELD:
            self.leadership.revoke()  # another holds it: no wait for the deadline
        if self.leading and not self.leadership.holds():
            await self.resign("lost the lease")

    async def resign(self, why: str) -> None:
        """Close the guard and stop the leader's work (still a candidate afterwards)."""
        self.leadership.revoke()
        if self.leading:
            self.leading = False
            logger.warning("no longer leading (%s); standing by", why)
            await self._on_resign()

    async def release(self) -> None:
        """Give the Lease up (after the leader's work has stopped): close the guard, then clear
        the holder, so a standby takes over at its next try (design choice 5)."""
        if not self.leadership.holds():
            return
        self.leadership.revoke()
        self.leading = False
        try:
            lease = await self._read()
            spec = (lease or {}).get("spec") or {}
            if lease is None or spec.get("holderIdentity") != self.identity:
                return
            stamp = _micro_time(self._wall())
            released = {
                **spec,
                "holderIdentity": None,
                "leaseDurationSeconds": 1,
                "renewTime": stamp,
                "acquireTime": stamp,
            }
            await self._replace(lease, released)
            logger.info("released lease %s", self.settings.name)
        except Exception as exc:  # the standby takes it once it expires instead
            logger.warning("releasing lease %s failed: %s", self.settings.name, exc)

    # One try -----------------------------------------------------------------------------------

    async def _acquire_or_renew(self) -> str:
        stamp = _micro_time(self._wall())
        lease = await self._read()
        if lease is None:
            created = await self._create(stamp)
            self.holder = self.identity if created else None
            return Outcome.ACQUIRED if created else Outcome.HELD
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        self.holder = holder or None
        record = (
            holder,
            spec.get("renewTime"),
            spec.get("acquireTime"),
            spec.get("leaseDurationSeconds"),
            spec.get("leaseTransitions"),
        )
        if record != self._observed:
            self._observed, self._observed_at = record, self._clock()
        duration = float(spec.get("leaseDurationSeconds") or self.settings.duration_seconds)
        if holder and holder != self.identity and self._clock() < self._observed_at + duration:
            return Outcome.HELD
        mine = holder == self.identity
        transitions = int(spec.get("leaseTransitions") or 0)
        taken = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.settings.duration_seconds),
            "acquireTime": spec.get("acquireTime") if mine else stamp,
            "renewTime": stamp,
            "leaseTransitions": transitions if mine else transitions + 1,
        }
        if not await self._replace(lease, taken):
            return Outcome.HELD
        self.holder = self.identity
        return Outcome.ACQUIRED

    async def _read(self) -> dict[str, Any] | None:
        try:
            found = await self.leases.read_namespaced_lease(self.settings.name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return cast(dict[str, Any], self.api.sanitize_for_serialization(found))

    async def _create(self, stamp: str) -> bool:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.settings.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.settings.duration_seconds),
                "acquireTime": stamp,
                "renewTime": stamp,
                "leaseTransitions": 0,
            },
        }
        try:
            await self.leases.create_namespaced_lease(self.namespace, cast(Any, body))
        except ApiException as exc:
            if exc.status == 409:  # another candidate created it first
                return False
            raise
        return True

    async def _replace(self, lease: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
        """Write `spec` over the Lease as read; False when it changed since (a lost race)."""
        meta = lease["metadata"]
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "resourceVersion": meta["resourceVersion"],
            },
            "spec": dict(spec),
        }
        try:
            await self.leases.replace_namespaced_lease(
                meta["name"], meta["namespace"], cast(Any, body)
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True


def _micro_time(when: dt.datetime) -> str:
    """A Kubernetes MicroTime."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
