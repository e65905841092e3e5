"""Benchmark: how many outputs per second one task streams to one client and to 100 clients,
and how late they arrive; baseline in the same run: progress events of the same task.

A task (benchtasks.stream, run by the real runner) writes items "<seq> <time of the call>",
either as output chunks (`ctx.output`) or as progress messages (`ctx.progress`, the baseline),
at a steady 200 per second (an LLM's token rate) and then as fast as it can (bursts of 5,000,
within what the event stream keeps, and of 20,000, twice that). 1 or 100
SSE clients on one gateway process follow the task's event stream and note when each item
arrives. Outputs are never coalesced: every client must see every chunk; progress is coalesced
by design (the newest value wins), so "seen" shows what each kind delivers.

The clients run in this process on the same two cores as the gateway, the runner and Redis
(lean client: sseclient.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
from longtask.core import resource

from tests.bench import common, sseclient
from tests.bench.context import Bench, python_task
from tests.fixtures.waiting import wait_for

CONNECT_AT_ONCE = 50
KINDS = ("output", "progress")
SYSTEMS = {"output": "outputs (ctx.output)", "progress": "baseline: progress events"}


@dataclasses.dataclass
class Follower:
    """One client: per distinct item, when it was written and when it arrived."""

    arrivals: dict[int, tuple[float, float]] = dataclasses.field(default_factory=dict)
    connected: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    error: str = ""
    resumed: int = 0
    """Times the gateway cut it off (it fell behind) and it resumed by Last-Event-ID."""
    gaps: int = 0
    """`gap` events: entries trimmed from the event stream before the gateway read them."""
    filled: set[int] = dataclasses.field(default_factory=set)
    """Items read from the whole output (`GET …/output`) after a gap, as the client does."""

    def note(self, item: str, received: float) -> None:
        try:
            seq_text, sent_text = item.split()
            seq, sent = int(seq_text), float(sent_text)
        except ValueError:
            return  # another message (the final progress of the runner, say)
        self.arrivals.setdefault(seq, (sent, received))


@dataclasses.dataclass(frozen=True)
class Mode:
    label: str
    rate: float  # items per second; 0: as fast as the task can
    count: int


def run(bench: Bench) -> list[common.Result]:
    clients = bench.size((1, 100), (1, 10))
    modes = (
        Mode("steady 200/s", 200.0, bench.size(1600, 400)),
        Mode("burst 5,000", 0.0, bench.size(5000, 1000)),
        # Twice what the event stream keeps (EVENTS_MAXLEN): a reader that falls behind meets
        # trimmed entries, a `gap`, and reads the rest from the output stream.
        Mode("burst 20,000", 0.0, bench.size(20_000, 2000)),
    )
    sizes = {"clients": clients, "steady": "200/s for 8 s", "bursts": [m.count for m in modes[1:]]}
    result = common.Result("outputs", "10. Outputs: one task → SSE clients (ctx.output)", sizes)
    with bench.namespace("outputs") as ns:
        for rep in range(bench.reps):
            for mode in modes:
                for count in clients:
                    for kind in KINDS:
                        name = f"r{rep}-{mode.count}-{count}-{kind[:3]}"
                        asyncio.run(_one(bench, ns, name, kind, mode, count, result))
    result.notes.append(
        "Latency = receipt by the client - the time of the ctx.output()/ctx.progress() call "
        "(same clock). Seen live = distinct items a client received over SSE / items written "
        "(worst client); after a gap (entries trimmed from the event stream before they were "
        "read) the client reads the whole output, as the Python client does: complete after "
        "reading the gaps. "
        "Delivered = distinct items per second per client, first call to last receipt. "
        "Progress is coalesced by design (newest wins), outputs never are. A client that falls "
        "more than 2,000 events behind is cut off by the gateway and resumes by Last-Event-ID "
        "(counted as resumes), as the Python client and browsers do."
    )
    return [result]


async def _one(
    bench: Bench,
    namespace: str,
    name: str,
    kind: str,
    mode: Mode,
    clients: int,
    result: common.Result,
) -> None:
    go = Path(bench.workdir) / f"go-{name}"
    params = {"go_file": str(go), "count": mode.count, "rate": mode.rate, "kind": kind}
    bench.longtask(namespace, name, python_task("stream", params))

    def phase() -> Any:
        task: dict[str, Any] = bench.custom.get_namespaced_custom_object(  # type: ignore[assignment]
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name
        )
        return (task.get("status") or {}).get("phase")

    await asyncio.to_thread(wait_for, lambda: phase() == "Running", 300, f"{name} running")
    url = f"{bench.stack.gateway_url}/v1/namespaces/{namespace}/tasks/{name}/events"
    headers = {"Authorization": f"Bearer {bench.stack.token}"}
    followers = [Follower() for _ in range(clients)]
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    tasks = [asyncio.create_task(_follow(url, headers, kind, f, gate)) for f in followers]
    try:
        async with asyncio.timeout(300):
            await asyncio.gather(*(f.connected.wait() for f in followers))
        go.touch()
        async with asyncio.timeout(600):
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    system = SYSTEMS[kind]
    prefix = f"{mode.label}, {clients} client{'s' if clients > 1 else ''}"
    latencies = [(r - s) * 1000 for f in followers for s, r in f.arrivals.values()]
    rates = [_delivered(f) for f in followers]
    worst = min(len(f.arrivals) for f in followers) / mode.count
    result.add(f"{prefix}: latency p50", system, "ms", common.percentile(latencies, 50))
    result.add(f"{prefix}: latency p99", system, "ms", common.percentile(latencies, 99))
    result.add(f"{prefix}: delivered per client", system, "1/s", sum(rates) / len(rates))
    result.add(f"{prefix}: delivered, all clients", system, "1/s", sum(rates))
    target = "100 %" if kind == "output" else ""
    result.add(f"{prefix}: seen live (worst client)", system, "%", 100 * worst, target)
    gaps = sum(f.gaps for f in followers) / len(followers)
    result.add(f"{prefix}: gap events per client", system, "", gaps)
    if kind == "output" and gaps:
        await asyncio.gather(*(_fill(bench, namespace, name, f) for f in followers))
        whole = min(len(f.filled | set(f.arrivals)) for f in followers) / mode.count
        result.add(f"{prefix}: complete after reading the gaps", system, "%", 100 * whole, "100 %")
    resumes = sum(f.resumed for f in followers) / len(followers)
    result.add(f"{prefix}: resumes per client (cut off, behind)", system, "", resumes)
    errors = [f.error for f in followers if f.error]
    if errors:
        result.notes.append(f"{name}: {len(errors)} client errors, e.g. {errors[0]}")


async def _fill(bench: Bench, namespace: str, name: str, follower: Follower) -> None:
    """What the Python client does on a gap: read the whole output (`GET …/output`)."""
    headers = {"Authorization": f"Bearer {bench.stack.token}"}
    try:
        async with httpx.AsyncClient(base_url=bench.stack.gateway_url, headers=headers) as http:
            # Generous: the gateway serves 8 whole-output reads at a time, 100 clients queue.
            path = f"/v1/namespaces/{namespace}/tasks/{name}/output"
            response = await http.get(path, timeout=300)
        response.raise_for_status()
    except httpx.HTTPError as exc:  # counted as incomplete, and named in the notes
        follower.error = f"reading the whole output: {type(exc).__name__}: {exc}"
        return
    for chunk in response.json()["chunks"]:
        follower.filled.add(int(str(chunk["chunk"]).split()[0]))


def _delivered(follower: Follower) -> float:
    if len(follower.arrivals) < 2:
        return 0.0
    first_sent = min(s for s, _ in follower.arrivals.values())
    last_received = max(r for _, r in follower.arrivals.values())
    return len(follower.arrivals) / max(1e-3, last_received - first_sent)


async def _follow(
    url: str, headers: dict[str, str], kind: str, follower: Follower, gate: asyncio.Semaphore
) -> None:
    """Follows until the `end` event, resuming with Last-Event-ID as real clients do when the
    gateway cuts off a client that fell too far behind (its queue of pending events is full)."""
    last_id: str | None = None
    ended = False

    def got(event: sseclient.Event) -> None:
        nonlocal last_id, ended
        if event.id is not None:
            last_id = event.id
        if event.event == "snapshot":
            follower.connected.set()
        elif event.event == "end":
            ended = True
        elif event.event == "gap":
            follower.gaps += 1
        elif event.event == kind:
            data = json.loads(event.data)
            item = data.get("chunk" if kind == "output" else "message", "")
            follower.note(str(item), event.received)

    while not ended:
        opened = asyncio.Event()
        resume = {"Last-Event-ID": last_id} if last_id else {}
        try:
            async with gate:
                stream = asyncio.create_task(sseclient.stream(url, got, headers | resume, opened))
                await asyncio.wait(
                    [stream, asyncio.create_task(opened.wait())],
                    return_when=asyncio.FIRST_COMPLETED,
                )
            await stream
        except (OSError, asyncio.IncompleteReadError, sseclient.StreamError) as exc:
            follower.error = f"{type(exc).__name__}: {exc}"
            follower.connected.set()
            return
        if not ended:
            follower.resumed += 1
