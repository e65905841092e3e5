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
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import redis
from longtask.core import events, keys, metrics
from longtask.devstack import procs
from longtask.devstack.stack import DEFAULT_STATE, Stack

from tests.bench import common, sseclient


def start_gateway(stack: Stack, log_dir: Path) -> tuple[procs.Proc, str]:
    port = procs.free_port()
    env = stack.env | {
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


async def scenario(
    url: str, r: redis.Redis, pid: int, clients: int, rate: int, seconds: float
) -> dict[str, float]:
    name, uid = await asyncio.to_thread(create_task, url)
    stream_key = keys.events(uid)
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

    path = f"{url}/v1/namespaces/default/tasks/{name}/events"
    readers = [
        asyncio.create_task(sseclient.stream(path, collector(i), connected=connected[i]))
        for i in range(clients)
    ]
    async with asyncio.timeout(300):
        await asyncio.gather(*(c.wait() for c in connected))
        r.xadd(stream_key, events.encode(events.make(events.EventType.HEARTBEAT, 1)))  # type: ignore[arg-type]
        await asyncio.gather(*(w.wait() for w in warm))

    drops0 = await asyncio.to_thread(dropped, url)
    reads0, cpu0 = xread_calls(r), common.cpu_seconds(pid)
    began = time.monotonic()
    total = int(rate * seconds)
    for n in range(total):
        due = began + n / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        fields = events.encode(events.make(events.EventType.PROGRESS, 1, progress=n * 100 / total))
        r.xadd(stream_key, fields)  # type: ignore[arg-type]
    r.xadd(stream_key, events.encode(events.make(events.EventType.END, 1, phase="Succeeded")))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(120):
            await asyncio.gather(*readers, return_exceptions=True)
    except TimeoutError:
        for reader in readers:
            reader.cancel()
    elapsed = time.monotonic() - began
    cpu = common.cpu_seconds(pid) - cpu0
    latencies = [
        (got - data["ts"] / 1000) * 1000 for per in received for data, got in per if "ts" in data
    ]
    complete = sum(1 for per in received if len(per) == total + 1)
    delivered = sum(len(per) for per in received)
    return {
        "cpu_us_per_delivery": cpu / max(delivered, 1) * 1e6,
        "gateway_cores": cpu / elapsed,
        "p50_ms": common.percentile(latencies, 50),
        "p99_ms": common.percentile(latencies, 99),
        "xread_per_s": (xread_calls(r) - reads0) / elapsed,
        "complete_pct": complete / clients * 100,
        "dropped": await asyncio.to_thread(dropped, url) - drops0,
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
                    got = asyncio.run(scenario(url, r, proc.pid, clients, args.rate, args.seconds))
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
        "Clients are the lean asyncio SSE client of tests/bench/sseclient.py, on the same cores "
        "as the gateway, Redis and the control plane: CPU and latency include that contention.",
        "Latency is receipt time minus the event's ts (set when the publisher built it).",
    ]
    path = common.write(result, common.machine())
    print(path.read_text())


if __name__ == "__main__":
    main()
