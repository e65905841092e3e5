"""Benchmark of the gateway's fan-out (not run by `make test`).

C SSE clients follow one task while a publisher writes R progress events per second for W
seconds into the task's Redis stream (as a runner would), then `end`. Measured per client count:
- gateway CPU per delivered event (µs per event per client), and its RSS;
- delivery latency (client receipt time - the event's `ts`), p50 and p99;
- XREAD calls per second in Redis (one reader for every client: flat in C);
- clients that received every event, and clients dropped as too slow.
The design's target: 50 updates/s to 1,000 clients of one task from one process (measured
unbatched at ~57 µs of CPU per event per client, i.e. too slow without batching).

    .venv/bin/python -m tests.bench.bench_gateway [--clients 100,1000] [--rate 50] [--seconds 10]
    (LONGTASK_TEST_STACK=reuse uses the stack of `make up` instead of starting one)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

import httpx
import redis
from longtask.core import events, keys, metrics
from longtask.core.resource import Phase
from longtask.devstack import procs
from longtask.devstack.stack import DEFAULT_STATE, Stack

from tests.bench import common, sseclient

# Client processes (each an asyncio loop holding its share of the SSE clients).
WORKERS: Final = 4


def start_gateway(stack: Stack, log_dir: Path) -> tuple[procs.Proc, str]:
    port = procs.free_port()
    env = stack.gateway_env() | {
        "LONGTASK_AUTH_MODE": "none",
        "LONGTASK_HOST": "127.0.0.1",
        "LONGTASK_PORT": str(port),
        "LONGTASK_LOG_LEVEL": "warning",
        "LONGTASK_CLIENT_QUEUE_SIZE": "5000",
    }
    proc = procs.start("bench-gateway", [str(stack.bin_dir / "longtask-gateway")], log_dir, env)
    url = f"http://127.0.0.1:{port}"
    procs.wait_until(lambda: procs.port_open(port), proc, "gateway", timeout=60)
    return proc, url


def create_task(url: str) -> tuple[str, str]:
    """A task to follow (no operator needed: the publisher plays the runner)."""
    name = f"bench-{secrets.token_hex(3)}"
    created = httpx.post(
        f"{url}/v1/namespaces/default/tasks", json={"name": name, "command": ["true"]}, timeout=30
    )
    created.raise_for_status()
    return name, str(created.json()["uid"])


def dropped(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(metrics.SSE_CLIENTS_DROPPED):
            return float(line.split()[-1])
    return 0.0


def xread_calls(r: redis.Redis) -> int:
    stats: dict[str, Any] = r.info("commandstats")
    return int(stats.get("cmdstat_xread", {}).get("calls", 0))


async def follow_many(url: str, path: str, clients: int, conn: Connection) -> None:
    """One worker process: `clients` SSE clients; reports connected, warm, then results."""
    received: list[list[tuple[dict[str, Any], float]]] = [[] for _ in range(clients)]
    connected = [asyncio.Event() for _ in range(clients)]
    warm = [asyncio.Event() for _ in range(clients)]

    def collector(i: int) -> Any:
        def on_event(event: sseclient.Event) -> None:
            if event.id is None:
                return
            data = json.loads(event.data)
            if data.get("type") == "heartbeat":
                warm[i].set()
            else:
                received[i].append((data, event.received))

        return on_event

    readers = [
        asyncio.create_task(sseclient.stream(f"{url}{path}", collector(i), connected=connected[i]))
        for i in range(clients)
    ]
    async with asyncio.timeout(300):
        await asyncio.gather(*(c.wait() for c in connected))
        conn.send("connected")
        await asyncio.gather(*(w.wait() for w in warm))
        conn.send("warm")
    try:
        async with asyncio.timeout(180):
            await asyncio.gather(*readers, return_exceptions=True)
    except TimeoutError:
        for reader in readers:
            reader.cancel()
    latencies = [
        (got - data["ts"] / 1000) * 1000 for per in received for data, got in per if "ts" in data
    ]
    conn.send({"latencies": latencies, "counts": [len(per) for per in received]})


def worker(url: str, path: str, clients: int, conn: Connection) -> None:
    asyncio.run(follow_many(url, path, clients, conn))


def scenario(
    url: str, r: redis.Redis, pid: int, clients: int, rate: int, seconds: float
) -> dict[str, float]:
    name, uid = create_task(url)
    stream_key = keys.events(uid)
    path = f"/v1/namespaces/default/tasks/{name}/events"
    # Clients live in other processes than the publisher: a loaded client loop must not delay
    # the events or their timestamps.
    spawn = multiprocessing.get_context("spawn")
    workers = min(WORKERS, clients)
    shares = [clients // workers + (1 if i < clients % workers else 0) for i in range(workers)]
    pipes, children = [], []
    for share in shares:
        parent, child = spawn.Pipe()
        proc = spawn.Process(target=worker, args=(url, path, share, child), daemon=True)
        proc.start()
        pipes.append(parent)
        children.append(proc)
    try:
        for pipe in pipes:
            assert pipe.recv() == "connected"
        heartbeat: dict[Any, Any] = events.encode(events.heartbeat(1))
        r.xadd(stream_key, heartbeat)
        for pipe in pipes:
            assert pipe.recv() == "warm"

        drops0, reads0, cpu0 = dropped(url), xread_calls(r), common.cpu_seconds(pid)
        began = time.monotonic()
        total = int(rate * seconds)
        for n in range(total):
            time.sleep(max(0.0, began + n / rate - time.monotonic()))  # the publisher's pace
            event = events.progress(1, n * 100 / total, "")
            fields: dict[Any, Any] = events.encode(event)
            r.xadd(stream_key, fields)
        end: dict[Any, Any] = events.encode(events.end(1, Phase.SUCCEEDED))
        r.xadd(stream_key, end)
        reports = [pipe.recv() for pipe in pipes]
        elapsed = time.monotonic() - began
        cpu = common.cpu_seconds(pid) - cpu0
        reads = xread_calls(r) - reads0
        drops = dropped(url) - drops0
    finally:
        for proc in children:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    latencies = [x for report in reports for x in report["latencies"]]
    counts = [c for report in reports for c in report["counts"]]
    delivered = sum(counts)
    return {
        "cpu_us_per_delivery": cpu / max(delivered, 1) * 1e6,
        "gateway_cores": cpu / elapsed,
        "p50_ms": common.percentile(latencies, 50),
        "p99_ms": common.percentile(latencies, 99),
        "xread_per_s": reads / elapsed,
        "complete_pct": sum(1 for c in counts if c == total + 1) / clients * 100,
        "dropped": drops,
        "rss_mib": common.rss_mib(pid),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="100,1000")
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    began = time.monotonic()
    reuse = os.environ.get("LONGTASK_TEST_STACK") == "reuse"
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.load(DEFAULT_STATE) if reuse else Stack.start(Path(tmp) / "stack")
        assert stack is not None, "LONGTASK_TEST_STACK=reuse but `make up` is not running"
        proc, url = start_gateway(stack, Path(tmp))
        r = redis.Redis.from_url(stack.redis_url, decode_responses=True)
        result = common.Result(
            name="gateway",
            title="Gateway: SSE fan-out of one task to many clients",
            sizes={"clients": args.clients, "rate_per_s": args.rate, "seconds": args.seconds},
        )
        try:
            for _ in range(args.reps):
                for clients in counts:
                    got = scenario(url, r, proc.pid, clients, args.rate, args.seconds)
                    label = f"{clients:,} clients"
                    result.add(f"CPU per event per client, {label}", "longtask", "µs",
                               got["cpu_us_per_delivery"], "< 57 (unbatched, design)")  # fmt: skip
                    result.add(f"gateway CPU, {label}", "longtask", "cores", got["gateway_cores"])
                    result.add(f"latency p50, {label}", "longtask", "ms", got["p50_ms"])
                    result.add(f"latency p99, {label}", "longtask", "ms", got["p99_ms"])
                    result.add(f"XREAD calls, {label}", "longtask", "/s", got["xread_per_s"],
                               "flat in clients")  # fmt: skip
                    result.add(f"clients with every event, {label}", "longtask", "%",
                               got["complete_pct"], "100")  # fmt: skip
                    result.add(f"clients dropped, {label}", "longtask", "", got["dropped"], "0")
                    result.add(f"gateway RSS, {label}", "longtask", "MiB", got["rss_mib"])
        finally:
            procs.stop(proc)
            r.close()
            if not reuse:
                stack.stop()
    result.seconds = time.monotonic() - began
    result.notes += [
        "Clients are the lean asyncio SSE client of tests/bench/sseclient.py in 4 processes, on "
        "the same cores as the gateway, Redis and the control plane: latency includes that "
        "contention; gateway CPU is the gateway process's own.",
        "Latency is receipt time minus the event's ts (set when the publisher built it).",
        f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the "
        "machine may be shared: a gateway starved of CPU reads larger batches, less often).",
    ]
    path = common.write(result, common.machine())
    print(path.read_text())


if __name__ == "__main__":
    main()
