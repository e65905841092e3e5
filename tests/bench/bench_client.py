"""Benchmark of the Python client's event follow (not run by `make test`).

How many events per second `Client.events()` turns into typed `TaskEvent`s (SSE decoding, own
ids, pydantic models, the resume bookkeeping), next to a baseline in the same run that only
decodes the same bytes with httpx-sse and `json.loads`. One gateway process sends about 19,000
events/s to one client; the target is that a client keeps up with that with room to spare.

The bytes come from an in-process transport (httpx.MockTransport), so what is measured is the
client's own CPU, not the network or the gateway: rates are per CPU-second of this process
(`time.process_time`), so other load on the machine does not skew them.

    .venv/bin/python -m tests.bench.bench_client [--events 200000] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

import httpx
from httpx_sse import EventSource
from longtask.client import Client

from tests.bench import common

if TYPE_CHECKING:
    from tests.bench.context import Bench

SSE_HEADERS = {"content-type": "text/event-stream"}
TARGET = "≥ 2x the gateway's 19,000/s"


def stream_body(count: int) -> bytes:
    """`count` progress events as the gateway encodes them, then the end event."""
    snapshot = {
        "namespace": "bench",
        "name": "t",
        "uid": "u",
        "phase": "Running",
        "links": dict.fromkeys(("self", "events", "logs", "cancel", "retry", "streamToken"), "/x"),
    }
    parts = [f"retry: 2000\n\nevent: snapshot\ndata: {json.dumps(snapshot)}\n\n"]
    for i in range(count):
        data = json.dumps(
            {"type": "progress", "ts": 1_700_000_000_000 + i, "attempt": 1,
             "progress": i * 100 / count, "message": f"item {i} of {count}"},
            separators=(",", ":"),
        )  # fmt: skip
        parts.append(f"id: 1700000000000-{i}\nevent: progress\ndata: {data}\n\n")
    end = '{"type":"end","ts":1,"attempt":1,"phase":"Succeeded"}'
    parts.append(f"id: 1700000000001-0\nevent: end\ndata: {end}\n\n")
    return "".join(parts).encode()


def transport(body: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers=SSE_HEADERS, content=body)
    )


def client_rate(body: bytes, count: int) -> float:
    with Client("http://bench", namespace="bench", transport=transport(body)) as lt:
        began = time.process_time()
        seen = sum(1 for _ in lt.events("t"))
        elapsed = time.process_time() - began
    assert seen == count + 2, seen  # snapshot, the progress events, end
    return count / elapsed


def baseline_rate(body: bytes, count: int) -> float:
    with httpx.Client(base_url="http://bench", transport=transport(body)) as http:
        began = time.process_time()
        with http.stream("GET", "/events") as response:
            # The retry hint is a message without data: not an event.
            events = (sse for sse in EventSource(response).iter_sse() if sse.data)
            seen = sum(1 for sse in events if json.loads(sse.data))
        elapsed = time.process_time() - began
    assert seen == count + 2, seen
    return count / elapsed


def measure(count: int, reps: int) -> common.Result:
    result = common.Result("client", "Client: typed events per second", {"events": count})
    body = stream_body(count)
    started = time.monotonic()
    for _ in range(reps):
        client, baseline = client_rate(body, count), baseline_rate(body, count)
        result.add("events decoded", "longtask Client.events()", "1/CPU-s", client, TARGET)
        result.add("events decoded", "baseline: httpx-sse + json.loads", "1/CPU-s", baseline)
    result.seconds = time.monotonic() - started
    result.notes.append(
        "In-process transport: the client's CPU only. The baseline yields dicts, the client "
        "typed events with their own stream ids and a resume point."
    )
    return result


def run(bench: Bench) -> common.Result:
    return measure(bench.size(200_000, 20_000), bench.reps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    path = common.write(measure(args.events, args.reps), common.machine())
    print(path.read_text())


if __name__ == "__main__":
    main()
