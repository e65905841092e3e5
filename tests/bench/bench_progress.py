"""Benchmarks 3 and 4: progress latency and fan-out cost, measured in the same runs.

A task (benchtasks.emit, run by the real runner) calls `ctx.progress()` 50 times a second,
stamping each message with the call's time; 1, 100 or 1,000 SSE clients on one gateway process
note when each update arrives. Baseline in the same run: the seed design, an SSE endpoint that
polls the task's Redis state hash once a second per client (seedsse.py), followed by as many
clients. Meanwhile the server's CPU and RSS and Redis's commands per second are sampled, idle
(clients connected, task silent) and active (task reporting).

The clients run in this process on the same two cores as the server they measure; they use a
lean client (sseclient.py) so that their own cost stays small next to the server's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from longtask.core import resource
from longtask.devstack import procs

from tests.bench import common, sseclient
from tests.bench.context import Bench, python_task
from tests.fixtures.waiting import wait_for

RATE = 50.0
CONNECT_AT_ONCE = 50
IDLE_SECONDS = 3.0


@dataclasses.dataclass
class Follower:
    """What one client received: latency (ms) per update, the distinct updates seen."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    seqs: set[int] = dataclasses.field(default_factory=set)
    arrivals: list[tuple[int, float, float]] = dataclasses.field(default_factory=list)
    connected: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    error: str = ""

    def note(self, message: str, received: float) -> None:
        try:
            seq_text, sent_text = message.split(" ", 1)
            seq, sent = int(seq_text), float(sent_text)
        except ValueError:
            return  # the final "done" message or another one
        if seq not in self.seqs:
            self.seqs.add(seq)
            self.latencies.append((received - sent) * 1000)
            self.arrivals.append((seq, sent, received))

    def staleness(self, updates: int) -> list[float]:
        """For every update reported, ms until the client had it or a newer one. Unseen
        updates' call times follow from the task's fixed schedule (RATE per second)."""
        if not self.arrivals:
            return []
        start = min(sent - seq / RATE for seq, sent, _ in self.arrivals)
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
            called = start + seq / RATE
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
    fanout.notes.append(
        "Redis commands/s count every client of Redis (runner writes and heartbeats, operator "
        "sweeps, the server's reads); what matters is how they change from 100 to 1,000 clients."
    )
    return [latency, fanout]


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
        go.touch()
        active = await asyncio.to_thread(
            common.measure, server.pid, bench.redis, max(1.0, seconds - 1.0)
        )
        if clients > 1:
            _record(fanout, "active", label, active)
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
    )
    latency.add(
        f"{prefix}: updates seen (mean)", server.system, "%", 100 * sum(seen) / len(seen), "100 %"
    )
    latency.add(f"{prefix}: updates seen (worst client)", server.system, "%", 100 * min(seen))
    errors = [f.error for f in followers if f.error]
    if errors:
        latency.notes.append(f"{name}: {len(errors)} client errors, e.g. {errors[0]}")


def _record(result: common.Result, state: str, label: str, window: common.Window) -> None:
    result.add(f"{state}: server CPU", label, "cores", window.cpu_cores, "≤ 1 core")
    result.add(f"{state}: server RSS", label, "MiB", window.rss_mib, "≤ 300 MB")
    result.add(
        f"{state}: Redis commands", label, "1/s", window.redis_per_second, "independent of clients"
    )


async def _follow(url: str, server: Server, follower: Follower, gate: asyncio.Semaphore) -> None:
    def got(event: sseclient.Event) -> None:
        if event.event == "snapshot":
            follower.connected.set()
        elif event.event == "progress":
            data = json.loads(event.data)
            follower.note(str(data.get("message", "")), event.received)

    opened = asyncio.Event()
    try:
        async with gate:
            stream = asyncio.create_task(sseclient.stream(url, got, server.headers, opened))
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
