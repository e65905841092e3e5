"""A Redis server for the local stack: Debian's redis-server on loopback with a free port.

The append-only file is on so that an outage drill (stop, then start on the same port) finds the
data it left, as a production Redis with persistence would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from longtask.devstack import procs


def executable() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise procs.StartupError(
            "redis-server not found: run `make system-deps` (installs Debian's redis-server)"
        )
    return found


def start(state: Path, port: int | None = None) -> tuple[procs.Proc, int]:
    port = port or procs.free_port()
    data = state / "redis"
    data.mkdir(parents=True, exist_ok=True)
    proc = procs.start(
        "redis",
        [
            executable(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--maxclients",
            "4000",
        ],
        state / "logs",
    )
    procs.wait_until(lambda: procs.port_open(port), proc, "redis-server", timeout=20)
    return proc, port
