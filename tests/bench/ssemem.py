"""What one open SSE stream costs a server process, by the shape of its response.

    python -m tests.bench.ssemem [--streams 2000] [sse-starlette] [one-task]

For each shape, a uvicorn server (httptools, as the gateway runs) in a process of its own
serves idle event streams: one event, then nothing until the client leaves. The probe opens
`streams` of them and reports, per open stream, the growth of the server's RSS and of the
objects its garbage collector tracks (each full collection walks all of them, and the gateway
serves no stream meanwhile). Shapes:

- `sse-starlette`: sse-starlette's `EventSourceResponse` with a ping interval and a send
  timeout, as the gateway's streams use it (a task group of four tasks per stream).
- `one-task`: the stream written from the request's own task, with one task waiting for the
  client to leave (pings on a timeout of that wait).

Only the response differs: no middleware, no follow, no Redis. What the gateway adds per stream
on top of it shows in a probe of the gateway itself (docs/benchmarks.md, 4b).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator

from starlette.types import ASGIApp, Receive, Scope, Send

MODULE = "tests.bench.ssemem"  # run from the repository's root, as `make bench` runs
SHAPES = ("sse-starlette", "one-task")
PING_SECONDS = 15.0
HEADERS = [(b"content-type", b"text/event-stream")]
FIRST = b"data: open\n\n"


async def _idle_events(forever: asyncio.Event) -> AsyncIterator[bytes]:
    yield FIRST
    await forever.wait()


async def _one_task(receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": FIRST, "more_body": True})

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    waiter = asyncio.ensure_future(gone())
    while not waiter.done():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PING_SECONDS):
                await asyncio.shield(waiter)
            continue
        await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})


def app(shape: str) -> ASGIApp:
    from sse_starlette.sse import EventSourceResponse

    forever = asyncio.Event()

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/tracked":  # after a full collection: what stays
            gc.collect()
            body = str(len(gc.get_objects())).encode()
            length = str(len(body)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", length)],
                }
            )
            await send({"type": "http.response.body", "body": body})
        elif shape == "sse-starlette":
            response = EventSourceResponse(
                _idle_events(forever), ping=int(PING_SECONDS), send_timeout=10
            )
            await response(scope, receive, send)
        else:
            await _one_task(receive, send)

    return serve


def _serve(shape: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        app(shape),
        host="127.0.0.1",
        port=port,
        http="httptools",
        lifespan="off",
        log_level="warning",
        backlog=4096,
    )


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _tracked(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET /tracked HTTP/1.1\r\nhost: probe\r\nconnection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return int(data.split(b"\r\n\r\n", 1)[1])


async def _open(port: int, count: int) -> list[asyncio.StreamWriter]:
    async def one() -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /events HTTP/1.1\r\nhost: probe\r\naccept: text/event-stream\r\n\r\n")
        await reader.readuntil(FIRST)
        return writer

    writers: list[asyncio.StreamWriter] = []
    for start in range(0, count, 100):  # 100 at a time: within the listen backlog
        writers += await asyncio.gather(*(one() for _ in range(min(100, count - start))))
    return writers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(shape: str, streams: int) -> tuple[float, float]:
    """(KiB of RSS, tracked objects) per open stream of `shape`."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", MODULE, "--serve", shape, str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

        async def run() -> tuple[float, float]:
            for writer in await _open(port, 50):  # warm: imports and first allocations
                writer.close()
            await asyncio.sleep(1)
            rss, tracked = _rss_kib(server.pid), await asyncio.to_thread(_tracked, port)
            writers = await _open(port, streams)
            rss = _rss_kib(server.pid) - rss
            tracked = await asyncio.to_thread(_tracked, port) - tracked
            for writer in writers:
                writer.close()
            return rss / streams, tracked / streams

        return asyncio.run(run())
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--serve", nargs=2, metavar=("SHAPE", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("shapes", nargs="*", choices=[[], *SHAPES], default=[])
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve[0], int(args.serve[1]))
        return
    for shape in args.shapes or SHAPES:
        kib, tracked = measure(shape, args.streams)
        print(f"{shape}: {kib:.1f} KiB of RSS and {tracked:.0f} tracked objects per open stream")


if __name__ == "__main__":
    main()
