"""Redis Sentinel for the local stack: a replica of the stack's Redis and three Sentinels
(Debian's `redis-sentinel`) watching it under the name `longtask`, so failover drills run against
real Sentinels. The stack's Redis URLs then become `redis+sentinel://` URLs naming the three.

The replica has the master's ACL users (the same ACL file) and syncs as the admin; the Sentinels
talk to both as the admin. Task users are not in the file: the operator re-creates them on the
new master after a failover, as after a restart (it compares `ACL USERS` every sweep).

The Sentinels declare the master down after `DOWN_AFTER_MS` without an answer and need two of
three to agree (the quorum); they rewrite their own config files as the roles change, as in
production.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import redis
from longtask.core import redisurls
from longtask.devstack import procs, redisserver

SERVICE = "longtask"
QUORUM = 2
SENTINELS = 3
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 10_000


def executable() -> str:
    found = shutil.which("redis-sentinel")
    if not found:
        raise procs.StartupError(
            "redis-sentinel not found: run `make system-deps` (installs Debian's redis-sentinel)"
        )
    return found


def start_replica(
    state: Path, master_port: int, passwords: redisserver.Passwords, port: int | None = None
) -> tuple[procs.Proc, int]:
    """A replica of the Redis at `master_port` (append-only and with its users, like it)."""
    port = port or procs.free_port()
    data = state / "redis-replica"
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    users = data / "users.acl"
    users.touch(mode=0o600)
    users.write_text(redisserver.acl_file(passwords))
    proc = procs.start(
        "redis-replica",
        [
            redisserver.executable(),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(data),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--aclfile", str(users),
            "--replicaof", "127.0.0.1", str(master_port),
            "--masteruser", redisserver.ADMIN,
            "--masterauth", passwords.admin,
            "--daemonize", "no",
            "--maxclients", "4000",
        ],
        state / "logs",
    )  # fmt: skip
    procs.wait_until(lambda: procs.port_open(port), proc, "redis replica", timeout=20)
    return proc, port


def start_sentinel(
    state: Path,
    index: int,
    master_port: int,
    passwords: redisserver.Passwords,
    port: int | None = None,
) -> tuple[procs.Proc, int]:
    """Sentinel number `index`, watching the master at `master_port` (a restart keeps its
    config file, which it rewrote with what it learnt)."""
    port = port or procs.free_port()
    folder = state / f"sentinel-{index}"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    conf = folder / "sentinel.conf"
    if not conf.exists():
        conf.write_text(
            f"port {port}\n"
            "bind 127.0.0.1\n"
            "daemonize no\n"
            f"dir {folder}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} {QUORUM}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
            f"sentinel auth-user {SERVICE} {redisserver.ADMIN}\n"
            f"sentinel auth-pass {SERVICE} {passwords.admin}\n"
        )
        conf.chmod(0o600)
    proc = procs.start(f"redis-sentinel-{index}", [executable(), str(conf)], state / "logs")
    procs.wait_until(lambda: procs.port_open(port), proc, "redis-sentinel", timeout=20)
    return proc, port


def url(ports: list[int], user: str = "", password: str = "") -> str:
    """redis+sentinel://[user:password@]127.0.0.1:p1,…/longtask/0"""
    hosts = ",".join(f"127.0.0.1:{p}" for p in ports)
    plain = f"redis+sentinel://{hosts}/{SERVICE}/0"
    return redisurls.with_credentials(plain, user, password) if user else plain


def ready(port: int) -> bool:
    """Whether the Sentinel at `port` knows the master, its replica and the other Sentinels
    (without them it could not fail over)."""
    try:
        with redis.Redis(port=port, socket_timeout=2, decode_responses=True) as sentinel:
            master = sentinel.sentinel_master(SERVICE)
    except (redis.RedisError, OSError):
        return False
    return (
        int(master.get("num-other-sentinels", 0)) >= SENTINELS - 1
        and int(master.get("num-slaves", 0)) >= 1
        and not master.get("is_odown")
    )


def master_port(port: int) -> int | None:
    """The master's port as the Sentinel at `port` has it now."""
    try:
        with redis.Redis(port=port, socket_timeout=2, decode_responses=True) as sentinel:
            found = sentinel.sentinel_get_master_addr_by_name(SERVICE)
    except (redis.RedisError, OSError):
        return None
    return int(found[1]) if found else None
