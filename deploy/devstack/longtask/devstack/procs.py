"""Background processes of the local stack: start detached with a log file, wait until ready,
stop with SIGTERM then SIGKILL. A process is recorded as (pid, start time in clock ticks since
boot) so that a later `down` from another shell stops exactly what `up` started and never a
recycled pid (servers such as Redis rewrite their command line, so that cannot identify them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final


class StartupError(RuntimeError):
    """A process of the stack exited or did not become ready in time."""


@dataclasses.dataclass(frozen=True)
class Proc:
    name: str
    pid: int
    started: int
    log: str
    argv: list[str] = dataclasses.field(default_factory=list)

    def alive(self) -> bool:
        found = _stat(self.pid)
        return found is not None and found[0] != "Z" and found[1] == self.started


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of a process from /proc, or None when there is no such process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return fields[0], int(fields[19])


# Listening ports come from below the kernel's ephemeral range: a port the kernel picked (bind to
# 0) is in that range, and between our check and the server's bind any outgoing connection of the
# machine may take it as its local port (etcd then fails with "address already in use").
_LISTEN_PORTS_FROM: Final = 10000
_EPHEMERAL_RANGE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now, outside the ephemeral range where one is left
    (see `_LISTEN_PORTS_FROM`); random, so that concurrent stacks rarely pick the same one."""
    low = _ephemeral_low()
    if low - _LISTEN_PORTS_FROM > 100:
        for _ in range(50):
            port = random.randrange(_LISTEN_PORTS_FROM, low)
            if _bindable(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    name: str,
    argv: Sequence[str],
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> Proc:
    """Starts argv detached (own session, so Ctrl-C in the shell does not reach it); as `user`
    when given (the caller is root)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            user=user,
        )
    # Nobody waits for it from here on: detach the Popen so its finalizer does not warn.
    popen.returncode = 0
    found = _stat(popen.pid)
    return Proc(
        name=name, pid=popen.pid, started=found[1] if found else 0, log=str(log), argv=list(argv)
    )


def stop(proc: Proc, grace: float = 10.0) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL the process group."""
    if not proc.alive():
        _reap(proc.pid)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(proc.pid)
        if not proc.alive():
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    _reap(proc.pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(
    ready: Callable[[], bool], proc: Proc | None, what: str, timeout: float = 60.0
) -> None:
    """Polls `ready` until it is true; fails early when `proc` died, with its log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and not proc.alive():
            raise StartupError(f"{what} exited during start-up:\n{tail(proc.log)}")
        time.sleep(0.1)
    log = tail(proc.log) if proc else ""
    raise StartupError(f"{what} not ready after {timeout:.0f}s\n{log}")


def tail(path: str, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def https_ok(url: str, ca_file: Path, cert: tuple[Path, Path] | None = None) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file))
    if cert:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
