"""`make up` twice is harmless and `make down` leaves no process and no port behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from longtask.devstack import procs
from longtask.devstack.stack import Stack


def stack_command(state: Path, command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "longtask.devstack.stack", command, f"--state={state}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_up_twice_then_down_leaves_nothing_behind(tmp_path: Path) -> None:
    state = tmp_path / "stack"
    first = stack_command(state, "up")
    assert first.returncode == 0, first.stderr
    started = Stack.load(state)
    assert started is not None and started.healthy()
    env_file = (state / "env").read_text()
    assert f"KUBECONFIG={state / 'kubeconfig'}" in env_file
    assert f"REDIS_URL={started.redis_url}" in env_file
    ports = [
        started.redis_port,
        int(
            started.kubectl(
                "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"
            ).rsplit(":", 1)[1]
        ),
    ]

    second = stack_command(state, "up")
    assert second.returncode == 0, second.stderr
    assert "already up" in second.stdout
    again = json.loads((state / "stack.json").read_text())["procs"]
    assert {n: p["pid"] for n, p in again.items()} == {n: p.pid for n, p in started.procs.items()}

    down = stack_command(state, "down")
    assert down.returncode == 0, down.stderr
    assert not any(p.alive() for p in started.procs.values())
    assert not any(procs.port_open(port) for port in ports)
    assert not state.exists()
