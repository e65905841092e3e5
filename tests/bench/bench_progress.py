"""Benchmarks 3 and 4: progress latency and fan-out cost, measured in the same runs.

A task (benchtasks.emit, run by the real runner) calls `ctx.progress()` 50 times a second,
stamping each message with the call's time; 1, 100 or 1,000 SSE clients on one gateway process
note when each update arrives. Baseline in the same run: the seed design, an SSE endpoint that
polls the task's Redis state hash once a second per client (seedsse.py), followed by as many
clients. Meanwhile the server's CPU and RSS and Redis's commands per second are sampled, idle
(clients connected, task silent) and active (task reporting).

Target 1 (fan-out) is "until a client holds this update or a newer one": progress a client
has not taken yet may be conflated by the gateway (the newest replaces it), so what counts is
how stale each client's view is, for every update reported; every other event (phase, result,
end) must reach every client, which each run checks against the task's stream in Redis.
Target 2 (one viewer) is the latency of every update and the share seen.

Spread: 10,000 clients over 1,000 tasks (10 each), the tasks' updates written by this process
into their streams at 1 per second per task (1,000 runner processes do not fit this machine; the
operator and the local node are paused, so the tasks stay as created). It reports how many
clients could be opened within a deadline, the same staleness and the gateway's CPU and RSS.

The clients run in this process on the same two cores as the server they measure; they use a
lean client (sseclient.py, an asyncio Protocol handing over raw event blocks) and find an
update's seq and call time in its bytes without parsing JSON, so that their own cost stays small
next to the server's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from longtask.core import events, keys, metrics, resource
from longtask.devstack import procs

from tests.bench import common, sseclient
from tests.bench.context import Bench, python_task
from tests.fixtures.waiting import wait_for

RATE = 50.0
CONNECT_AT_ONCE = 50
IDLE_SECONDS = 3.0
SPREAD_PER_TASK = 10
SPREAD_CONNECT_SECONDS = 240.0  # clients not open by then are left out (and counted)
CREATE_THREADS = 16
SPREAD_REPS = 1  # opening 10,000 clients takes minutes on two cores: one repetition


@dataclasses.dataclass
class Follower:
    """What one client received: latency (ms) per update, the distinct updates seen."""

    rate: float = RATE
    latencies: list[float] = dataclasses.field(default_factory=list)
    seqs: set[int] = dataclasses.field(default_factory=set)
    others: list[str] = dataclasses.field(default_factory=list)  # ids of non-progress entries
    arrivals: list[tuple[int, float, float]] = dataclasses.field(default_factory=list)
    connected: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    error: str = ""

    def note(self, seq: int, sent: float, received: float) -> None:
        if seq not in self.seqs:
            self.seqs.add(seq)
            self.latencies.append((received - sent) * 1000)
            self.arrivals.append((seq, sent, received))

    def staleness(self, updates: int) -> list[float]:
        """For every update reported, ms until the client had it or a newer one. Unseen
        updates' call times follow from the task's fixed schedule (`rate` per second)."""
        if not self.arrivals:
            return []
        start = min(sent - seq / self.rate for seq, sent, _ in self.arrivals)
        ordered = sorted(self.arrivals)
        # soonest[i]: the earliest receipt among updates i.. (a newer one supersedes).
        soonest = [r for _, _, r in ordered]
        for i in range(len(soonest) - 2, -1, -1):
            soonest[i] = min(soonest[i], soonest[i + 1])
        out, index = [], 0
        for seq in range(1, updates + 1):
            while index < len(ordered) and ordered[index][0] < seq:
                index += 1
            if index == len(ordered):
                break  # never superseded: counted in "seen" instead
            called = start + seq / self.rate
            out.append((soonest[index] - called) * 1000)
        return out


@dataclasses.dataclass
class Server:
    system: str
    pid: int
    url: Any  # (namespace, name, uid) -> URL

    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    needs_snapshot: bool = True


def run(bench: Bench) -> list[common.Result]:
    counts = bench.size((1, 100, 1000), (1, 20))
    spread_tasks = bench.size(1000, 10)
    seconds = bench.size(8, 4)
    sizes = {"clients": counts, "rate_per_s": RATE, "seconds": seconds}
    latency = common.Result("progress", "3. Progress latency: ctx.progress() → SSE client", sizes)
    fanout = common.Result("fanout", "4. Fan-out cost: one gateway process, many clients", sizes)
    seed = _start_seed(bench)
    try:
        servers = [
            Server(
                "longtask",
                bench.pid("gateway"),
                lambda ns, name, uid: (
                    f"{bench.stack.gateway_url}/v1/namespaces/{ns}/tasks/{name}/events"
                ),
                {"Authorization": f"Bearer {bench.stack.token}"},
            ),
            Server(
                "baseline: seed polling",
                seed[0].pid,
                lambda ns, name, uid: f"http://127.0.0.1:{seed[1]}/tasks/{uid}/events",
                needs_snapshot=False,
            ),
        ]
        with bench.namespace("progress") as ns:
            for rep in range(bench.reps):
                for count in counts:
                    for server in servers:
                        asyncio.run(
                            _one(
                                bench,
                                ns,
                                f"r{rep}-{count}-{server.system[:4]}",
                                count,
                                seconds,
                                server,
                                latency,
                                fanout,
                            )
                        )
    finally:
        seed[0].terminate()
        seed[0].wait(10)
    latency.notes.append(
        "Latency = receipt by the client - the time of the ctx.progress() call (same clock); "
        "seen = distinct updates a client received / updates reported (mean over clients)."
    )
    spread = common.Result(
        "spread",
        "4b. Spread: many clients over many tasks, one gateway process",
        {"tasks": spread_tasks, "clients_per_task": SPREAD_PER_TASK, "rate_per_task": 1.0},
    )
    _spread(bench, spread_tasks, SPREAD_PER_TASK, bench.size(10.0, 5.0), spread)
    fanout.notes.append(
        "Redis commands/s count every client of Redis (runner writes and heartbeats, operator "
        "sweeps, the server's reads); what matters is how they change from 100 to 1,000 clients."
    )
    return [latency, fanout, spread]


def _start_seed(bench: Bench) -> tuple[subprocess.Popen[bytes], int]:
    port = procs.free_port()
    env = os.environ | {"REDIS_URL": bench.stack.redis_url, "PYTHONPATH": str(common.REPO)}
    log = (bench.workdir / "seedsse.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.bench.seedsse:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=common.REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for(lambda: procs.port_open(port), 60, "the seed SSE server")
    return proc, port


async def _one(
    bench: Bench,
    namespace: str,
    name: str,
    clients: int,
    seconds: float,
    server: Server,
    latency: common.Result,
    fanout: common.Result,
) -> None:
    updates = int(RATE * seconds)
    go = Path(bench.workdir) / f"go-{name}"
    params = {"go_file": str(go), "count": updates, "rate": RATE}
    uid = bench.longtask(namespace, name, python_task("emit", params))["metadata"]["uid"]
    running = resource.Phase.RUNNING.value

    def phase() -> Any:
        task: dict[str, Any] = bench.custom.get_namespaced_custom_object(  # type: ignore[assignment]
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name
        )
        return (task.get("status") or {}).get("phase")

    await asyncio.to_thread(wait_for, lambda: phase() == running, 300, f"{name} running")
    url = server.url(namespace, name, uid)
    followers = [Follower() for _ in range(clients)]
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    tasks = [asyncio.create_task(_follow(url, server, f, gate)) for f in followers]
    try:
        async with asyncio.timeout(300):
            await asyncio.gather(*(f.connected.wait() for f in followers))
        label = f"{server.system}, {clients} clients"
        if clients > 1:
            idle = await asyncio.to_thread(common.measure, server.pid, bench.redis, IDLE_SECONDS)
            _record(fanout, "idle", label, idle)
        sent = _events_sent(bench) if server.needs_snapshot else None
        go.touch()
        active = await asyncio.to_thread(
            common.measure, server.pid, bench.redis, max(1.0, seconds - 1.0)
        )
        if clients > 1:
            _record(fanout, "active", label, active)
        if sent is not None and clients > 1:
            delivered = _events_sent(bench) - sent
            fanout.add(
                "active: server CPU per event sent",
                label,
                "µs",
                1e6 * active.cpu_cores * active.seconds / max(delivered, 1),
            )
        async with asyncio.timeout(seconds + 120):
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    pooled = [ms for f in followers for ms in f.latencies]
    seen = [len(f.seqs) / updates for f in followers]
    prefix = f"{clients} client{'s' if clients > 1 else ''}"
    target = "≤ 10 ms" if clients == 1 else "≤ 100 ms" if clients >= 1000 else ""
    latency.add(f"{prefix}: p50", server.system, "ms", common.percentile(pooled, 50))
    latency.add(f"{prefix}: p99", server.system, "ms", common.percentile(pooled, 99), target)
    stale = [ms for f in followers for ms in f.staleness(updates)]
    latency.add(
        f"{prefix}: until it or a newer update arrived, p99",
        server.system,
        "ms",
        common.percentile(stale, 99),
        "≤ 100 ms" if clients >= 1000 else "",
    )
    if server.needs_snapshot:  # longtask: every other entry of the stream, to every client
        others, written = _stream(bench, uid)
        latency.add(
            f"{prefix}: updates the runner wrote to the stream",
            server.system,
            "%",
            100 * min(written, updates) / updates,
        )
        complete = sum(f.others == others for f in followers)
        latency.add(
            f"{prefix}: clients with every phase, result and end event",
            server.system,
            "%",
            100 * complete / clients,
            "100 %",
        )
    latency.add(
        f"{prefix}: updates seen (mean)", server.system, "%", 100 * sum(seen) / len(seen), "100 %"
    )
    latency.add(f"{prefix}: updates seen (worst client)", server.system, "%", 100 * min(seen))
    errors = [f.error for f in followers if f.error]
    if errors:
        latency.notes.append(f"{name}: {len(errors)} client errors, e.g. {errors[0]}")


def _stream(bench: Bench, uid: str) -> tuple[list[str], int]:
    """Ids of the task's stream entries other than progress and heartbeats (phase changes,
    result, end: what every client must receive), and how many progress entries it holds."""
    kinds = [
        (str(entry_id), json.loads(fields.get("data", "{}")).get("type"))
        for entry_id, fields in bench.redis.xrange(keys.events(uid))
    ]
    others = [i for i, kind in kinds if kind not in ("progress", "heartbeat")]
    return others, sum(kind == "progress" for _, kind in kinds)


def _events_sent(bench: Bench) -> float:
    """Events the gateway sent to stream clients so far (its own counter)."""
    text = httpx.get(f"{bench.stack.gateway_url}/metrics", timeout=30).text
    for line in text.splitlines():
        if line.startswith(metrics.SSE_EVENTS_SENT + " "):
            return float(line.split()[-1])
    return 0.0


def _record(result: common.Result, state: str, label: str, window: common.Window) -> None:
    result.add(f"{state}: server CPU", label, "cores", window.cpu_cores, "≤ 1 core")
    result.add(f"{state}: server RSS", label, "MiB", window.rss_mib, "≤ 300 MB")
    result.add(
        f"{state}: Redis commands", label, "1/s", window.redis_per_second, "independent of clients"
    )


# The seq and call time in a progress event's message ("<seq> <unix time>"), found in the
# event's raw bytes: the clients parse no JSON for the 50,000 updates a second they receive.
_MESSAGE = re.compile(rb'"message": ?"(\d+) (\d+\.\d+)"')


def _parse(block: bytes) -> tuple[bytes | None, bytes, bytes]:
    """(id, event name, data) of one raw SSE block from the servers measured here (one data
    line per event)."""
    event_id, name, data = None, b"message", b""
    for line in block.split(b"\n"):
        if line.startswith(b"data: "):
            data = line[6:]
        elif line.startswith(b"id: "):
            event_id = line[4:]
        elif line.startswith(b"event: "):
            name = line[7:]
    return event_id, name, data


async def _follow(url: str, server: Server, follower: Follower, gate: asyncio.Semaphore) -> None:
    def got(block: bytes, received: float) -> None:
        event_id, name, data = _parse(block)
        if name == b"progress":
            found = _MESSAGE.search(data)
            if found is not None:
                follower.note(int(found[1]), float(found[2]), received)
        elif name == b"snapshot":
            follower.connected.set()
        elif event_id is not None and name != b"heartbeat":
            follower.others.append(event_id.decode())

    opened = asyncio.Event()
    try:
        async with gate:
            stream = asyncio.create_task(sseclient.stream_blocks(url, got, server.headers, opened))
            await asyncio.wait(
                [stream, asyncio.create_task(opened.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        if not server.needs_snapshot:
            follower.connected.set()
        await stream
    except (OSError, asyncio.IncompleteReadError, sseclient.StreamError) as exc:
        follower.error = f"{type(exc).__name__}: {exc}"
        follower.connected.set()


def _spread(bench: Bench, tasks: int, per_task: int, seconds: float, result: common.Result) -> None:
    """`tasks` LongTasks, `per_task` clients each; this process writes one progress update
    per second into every task's stream (as its runner would) and the clients note them."""
    label = f"longtask, {tasks * per_task:,} clients over {tasks:,} tasks"
    with bench.paused("operator", "localnode"), bench.namespace("spread") as ns:
        spec = {"command": ["true"]}
        with concurrent.futures.ThreadPoolExecutor(CREATE_THREADS) as pool:
            made = list(pool.map(lambda i: bench.longtask(ns, f"s{i}", spec), range(tasks)))
        uids = [str(task["metadata"]["uid"]) for task in made]
        for _ in range(SPREAD_REPS):
            stats = asyncio.run(_spread_once(bench, ns, uids, per_task, seconds))
            opened, window, stale, latencies, connect_s = stats
            result.add("clients open", label, "count", opened, f"{tasks * per_task:,}")
            result.add("time to open them", label, "s", connect_s)
            result.add("latency p50", label, "ms", common.percentile(latencies, 50))
            result.add("latency p99", label, "ms", common.percentile(latencies, 99))
            result.add(
                "until it or a newer update arrived, p99",
                label,
                "ms",
                common.percentile(stale, 99),
                "≤ 100 ms",
            )
            result.add("active: server CPU", label, "cores", window.cpu_cores, "≤ 1 core")
            result.add("active: server RSS", label, "MiB", window.rss_mib, "≤ 300 MB")
            result.add("active: Redis commands", label, "1/s", window.redis_per_second)
    result.notes.append(
        "The tasks' updates are written by the benchmark into their streams, 1 per task per "
        "second, spread evenly over each second; operator and local node paused (the tasks stay "
        "as created). One repetition. Clients are opened 50 at a time; those not open within "
        f"{SPREAD_CONNECT_SECONDS:.0f} s are left out of the rest of the repetition."
    )


async def _spread_once(
    bench: Bench, namespace: str, uids: list[str], per_task: int, seconds: float
) -> tuple[int, common.Window, list[float], list[float], float]:
    server = Server(
        "longtask",
        bench.pid("gateway"),
        lambda ns, name, uid: f"{bench.stack.gateway_url}/v1/namespaces/{ns}/tasks/{name}/events",
        {"Authorization": f"Bearer {bench.stack.token}"},
    )
    # Every repetition starts from empty streams: clients read a stream from its start.
    bench.redis.delete(*(keys.events(uid) for uid in uids))
    followers = {uid: [Follower(rate=1.0) for _ in range(per_task)] for uid in uids}
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    began = time.monotonic()
    tasks = [
        asyncio.create_task(_follow(server.url(namespace, f"s{i}", uid), server, f, gate))
        for i, uid in enumerate(uids)
        for f in followers[uid]
    ]
    everyone = [f for fs in followers.values() for f in fs]
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SPREAD_CONNECT_SECONDS):
                await asyncio.gather(*(f.connected.wait() for f in everyone))
        connect_s = time.monotonic() - began
        opened = sum(f.connected.is_set() and not f.error for f in everyone)
        updates = int(seconds)
        writer = asyncio.create_task(asyncio.to_thread(_write_updates, bench, uids, updates))
        window = await asyncio.to_thread(common.measure, server.pid, bench.redis, seconds)
        await writer
        await asyncio.sleep(2.0)  # the last updates' way to the clients
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    live = [f for f in everyone if f.connected.is_set() and not f.error]
    stale = [ms for f in live for ms in f.staleness(updates)]
    latencies = [ms for f in live for ms in f.latencies]
    return opened, window, stale, latencies, connect_s


def _write_updates(bench: Bench, uids: list[str], updates: int) -> None:
    """One progress update per task per second, the tasks' writes spread over each second;
    each message is "<seq> <unix time>" as benchtasks.emit writes it."""
    slices = 20
    start = time.monotonic()
    for seq in range(1, updates + 1):
        for part in range(slices):
            due = start + seq - 1 + part / slices
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pipe = bench.redis.pipeline(transaction=False)
            for uid in uids[part::slices]:
                event = events.progress(1, seq, f"{seq} {time.time():.6f}")
                pipe.xadd(keys.events(uid), events.encode(event))  # type: ignore[arg-type]
            pipe.execute()
