"""A PostgreSQL server for the local stack's history: Debian's postgresql package on loopback
with a free port, a password, and its own data directory in the stack's state.

PostgreSQL refuses to run as root: when the stack runs as root, the server runs as Debian's
`postgres` user. Its data directory is `<state>/postgresql` when that user can reach it; a state
folder private to root (pytest's temporary folders are 0700) gets a private folder under /tmp
instead, linked from `<state>/postgresql` and removed with the stack. Unix sockets are off
(loopback TCP only). `stop` asks for a fast shutdown (SIGINT): open connections are closed
instead of waited for, as an outage drill wants.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from longtask.devstack import procs

USER = "longtask"
DATABASE = "longtask"
SYSTEM_USER = "postgres"


def bin_dir() -> Path:
    """The newest Debian PostgreSQL's bin folder (`/usr/lib/postgresql/<major>/bin`)."""
    found = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise procs.StartupError(
            "PostgreSQL not found: run `make system-deps` (installs Debian's postgresql)"
        )
    return found[-1]


def _run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _reachable(folder: Path, user: str | None) -> bool:
    if user is None:
        return True
    check = subprocess.run(["test", "-w", str(folder)], user=user, check=False)
    return check.returncode == 0


def _data_dir(state: Path, user: str | None) -> Path:
    """The data directory (created, owned by `user`), in the state or linked from it."""
    link = state / "postgresql"
    if link.exists():
        return link.resolve()
    state.mkdir(parents=True, exist_ok=True)
    if user is None or _reachable(state, user):
        link.mkdir(mode=0o700)
        target = link
    else:
        target = Path(tempfile.mkdtemp(prefix="longtask-postgresql-"))
        link.symlink_to(target)
    if user is not None:
        shutil.chown(target, user, user)
    return target


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _init(data: Path, password: str, user: str | None) -> None:
    pwfile = data.parent / f".pw-{secrets.token_hex(4)}"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if user is not None:
        shutil.chown(pwfile, user, user)
    try:
        subprocess.run(
            [
                str(bin_dir() / "initdb"),
                "-D",
                str(data / "data"),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            user=user,
            env=_env(),
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        raise procs.StartupError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from None
    finally:
        pwfile.unlink(missing_ok=True)


def dsn(port: int, password: str, database: str = DATABASE) -> str:
    return f"postgresql://{USER}:{password}@127.0.0.1:{port}/{database}"


def start(
    state: Path, port: int | None = None, password: str | None = None
) -> tuple[procs.Proc, int, str]:
    """Start (initialising on first use) the server; (process, port, DSN of its database)."""
    user = _run_as()
    data = _data_dir(state, user)
    fresh = not (data / "data" / "PG_VERSION").exists()
    password = password or secrets.token_urlsafe(18)
    if fresh:
        _init(data, password, user)
    port = port or procs.free_port()
    proc = procs.start(
        "postgresql",
        [
            str(bin_dir() / "postgres"),
            "-D",
            str(data / "data"),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
        ],
        state / "logs",
        env=_env(),
        user=user,
    )
    procs.wait_until(lambda: _accepting(port), proc, "postgresql", timeout=60)
    if fresh:
        subprocess.run(
            [str(bin_dir() / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE],
            env=_env() | {"PGPASSWORD": password},
            check=True,
            capture_output=True,
        )
    return proc, port, dsn(port, password)


def _accepting(port: int) -> bool:
    ready = subprocess.run(
        [str(bin_dir() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
        env=_env(),
        check=False,
    )
    return ready.returncode == 0


def stop(proc: procs.Proc, grace: float = 20.0) -> None:
    """Fast shutdown (SIGINT: sessions are ended, not awaited), SIGKILL after `grace`."""
    if proc.alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + grace
        while proc.alive() and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(proc.pid, os.WNOHANG)
            time.sleep(0.05)
    procs.stop(proc)


def remove(state: Path) -> None:
    """Delete the data directory (and the private folder the state links to)."""
    link = state / "postgresql"
    if link.is_symlink():
        shutil.rmtree(link.resolve(), ignore_errors=True)
        link.unlink()
