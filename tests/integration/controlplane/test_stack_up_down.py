"""`make up` twice is harmless and `make down` leaves no process and no port behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
from longtask.devstack import procs
from longtask.devstack.stack import Stack, down


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


def test_run_says_where_to_go_follows_the_logs_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "stack"
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "NO_COLOR")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "longtask.devstack.stack", "run", f"--state={state}"],
        env=env,
        encoding="utf-8",
        timeout=300,
        # Started with SIGINT ignored, as every background job of a shell without job control
        # is (a CI script's `make test &`): Ctrl-C must stop the stack all the same.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        child.expect(r"Dashboard: +(http://127\.0\.0\.1:\d+/#/overview/default\?token=\S+)")
        url = child.match.group(1)
        child.expect(r"kubectl, longtask: +set -a; source (\S+); set \+a")
        assert child.match.group(1) == str(state / "env")
        started = Stack.load(state)
        assert started is not None and started.healthy()
        assert url.startswith(started.gateway_url) and url.endswith(started.token)
        # One line per log line, prefixed and coloured by component (compose's first colour
        # goes to the first component), not tail's "==> file <==" headers.
        child.expect(r"\x1b\[36m(\S+) +\| \x1b\[0m")
        assert child.match.group(1) in started.procs
        child.expect(r"\x1b\[\d+mgateway +\| \x1b\[0m")
        assert "==>" not in (child.before or "")
        child.sendintr()  # Ctrl-C
        child.expect("Stopping…")
        child.expect("longtask stack down")
        child.expect(pexpect.EOF)
    except BaseException:
        child.close(force=True)
        down(state)  # not left running for the rest of the suite
        raise
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert not any(p.alive() for p in started.procs.values())
    assert not state.exists()
