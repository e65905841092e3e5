"""A Redis server for the local stack: Debian's redis-server on loopback with a free port.

The append-only file is on so that an outage drill (stop, then start on the same port) finds the
data it left, as a production Redis with persistence would.

ACLs are on as in production: the default user is off (`redisusers.DEFAULT_USER`); `admin`
(the developer's and the tests' user: every command, every key) and the operator's and gateway's
users of `longtask.core.redisusers` are loaded from an ACL file at every start, passwords
hashed. Task users are not in that file: the operator creates them, and re-creates them after a
restart. The data folder and the ACL file are the owner's only (a task's process must not read
the data behind Redis's back).
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from pathlib import Path

from longtask.core import redisurls, redisusers
from longtask.devstack import procs

ADMIN = "admin"


@dataclasses.dataclass(frozen=True)
class Passwords:
    """The passwords of the stack's Redis users, and the operator's key for task users."""

    admin: str
    operator: str
    gateway: str
    task_key: str

    @classmethod
    def generate(cls) -> Passwords:
        return cls(*(secrets.token_urlsafe(24) for _ in range(4)))


def acl_file(passwords: Passwords) -> str:
    """The ACL file's users: the default user off, an admin, the operator and the gateway."""
    lines = [
        redisusers.DEFAULT_USER,
        f"user {ADMIN} on {redisusers.password_hash(passwords.admin)} ~* &* +@all",
        redisusers.acl_line(redisusers.OPERATOR, passwords.operator, redisusers.operator_rules()),
        redisusers.acl_line(redisusers.GATEWAY, passwords.gateway, redisusers.gateway_rules()),
    ]
    return "\n".join(lines) + "\n"


def url(port: int, user: str = "", password: str = "") -> str:
    """redis://[user:password@]127.0.0.1:port/0"""
    address = f"redis://127.0.0.1:{port}/0"
    return redisurls.with_credentials(address, user, password) if user else address


def executable() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise procs.StartupError(
            "redis-server not found: run `make system-deps` (installs Debian's redis-server)"
        )
    return found


def start(state: Path, passwords: Passwords, port: int | None = None) -> tuple[procs.Proc, int]:
    port = port or procs.free_port()
    data = state / "redis"
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    users = data / "users.acl"
    users.touch(mode=0o600)
    users.write_text(acl_file(passwords))
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
            "--aclfile",
            str(users),
            # Should the Sentinels make it a replica (redissentinel), it syncs as the admin.
            "--masteruser",
            ADMIN,
            "--masterauth",
            passwords.admin,
            "--daemonize",
            "no",
            "--maxclients",
            "4000",
        ],
        state / "logs",
    )
    procs.wait_until(lambda: procs.port_open(port), proc, "redis-server", timeout=20)
    return proc, port
