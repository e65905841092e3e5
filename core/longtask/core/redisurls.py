"""Redis addresses of longtask: every component's Redis client is built from a URL here, and
every task's URL (its own user and password) too, so that a new kind of address is taught in one
place.

Design choices:
1. A URL is the whole configuration of a connection (scheme, host, port, database, user,
   password, TLS options in the query), as redis-py reads it: settings and Secrets hold URLs and
   nothing else, and the runner gets its task's as one environment variable.
2. A task's URL is the runner's address with the task's user and password put in
   (`with_credentials`): whatever credentials the address held are replaced, never kept beside.
3. `client` and `pool` take redis-py's connection options (timeouts, retries, decoding) as they
   are: the components choose those, this module chooses how a URL becomes connections.
4. Redis Sentinel is a kind of address:
   `redis+sentinel://[user:password@]host:port[,host:port…]/service[/db][?query]`
   (`rediss+sentinel://` for TLS to the master) names the Sentinels to ask and the name under
   which they watch the master; the user and password are the master's (a task's URL gets its
   own, design choice 2); the query may hold `sentinel_username` and `sentinel_password` when
   the Sentinels require their own. Such a client asks the Sentinels for the master whenever it
   opens a connection, and drops a connection that fails or that a demoted master answers
   READONLY, so its next command after a failover reaches the new master (redis-py's
   `SentinelConnectionPool`). What a failover loses is docs/install.md's (Redis Sentinel).
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio import sentinel as aiosentinel

# Sentinel schemes, and whether the master is reached over TLS (design choice 4).
SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
DEFAULT_SENTINEL_PORT = 26379


def with_credentials(url: str, username: str, password: str) -> str:
    """`url` with its user and password replaced by these (percent-encoded)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    userinfo = f"{urllib.parse.quote(username, safe='')}:{urllib.parse.quote(password, safe='')}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def client(url: str, **options: Any) -> aioredis.Redis:
    """An asyncio client of `url` with a connection pool of its own (closed with it)."""
    if is_sentinel(url):
        return aioredis.Redis.from_pool(pool(url, **options))
    return aioredis.Redis.from_url(url, **options)


def pool(url: str, *, blocking: bool = False, **options: Any) -> aioredis.ConnectionPool:
    """A connection pool of `url` for clients that share it. `blocking`: a caller beyond
    `max_connections` waits up to `timeout` for a free connection instead of failing."""
    if is_sentinel(url):
        return _sentinel_pool(parse_sentinel(url), blocking, options)
    kind = aioredis.BlockingConnectionPool if blocking else aioredis.ConnectionPool
    return kind.from_url(url, **options)


# ---- Redis Sentinel (design choice 4) ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SentinelUrl:
    """What a `redis+sentinel://` URL says."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def is_sentinel(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme in SENTINEL_SCHEMES


def parse_sentinel(url: str) -> SentinelUrl:
    """The parts of a Sentinel URL (ValueError when it is not one, or malformed)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in SENTINEL_SCHEMES:
        raise ValueError(f"not a Sentinel URL (redis+sentinel://…): {parts.scheme}://")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
        host = host.strip("[]")
        if not host:
            raise ValueError(f"a Sentinel URL needs host:port of each Sentinel, got {item!r}")
        try:
            sentinels.append((host, int(port) if port else DEFAULT_SENTINEL_PORT))
        except ValueError:
            raise ValueError(f"not a port: {port!r} in the Sentinel URL") from None
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise ValueError("a Sentinel URL names the master's service: …/service[/db]")
    try:
        db = int(path[1]) if len(path) == 2 else 0
    except ValueError:
        raise ValueError(f"not a database number: {path[1]!r} in the Sentinel URL") from None
    query = urllib.parse.parse_qs(parts.query)

    def unquoted(value: str) -> str | None:
        return urllib.parse.unquote(value) if value else None

    return SentinelUrl(
        sentinels=tuple(sentinels),
        service=urllib.parse.unquote(path[0]),
        db=db,
        username=unquoted(username),
        password=unquoted(password),
        ssl=SENTINEL_SCHEMES[parts.scheme],
        sentinel_username=next(iter(query.get("sentinel_username", [])), None),
        sentinel_password=next(iter(query.get("sentinel_password", [])), None),
    )


class SentinelBlockingConnectionPool(
    aiosentinel.SentinelConnectionPool, aioredis.BlockingConnectionPool
):
    """A Sentinel-managed pool that waits for a free connection instead of failing."""


def _sentinel_pool(
    found: SentinelUrl, blocking: bool, options: dict[str, Any]
) -> aioredis.ConnectionPool:
    # The Sentinels get the master's socket timeouts, not its credentials.
    sentinel_options = {
        k: v for k, v in options.items() if k in ("socket_timeout", "socket_connect_timeout")
    }
    if found.sentinel_username:
        sentinel_options["username"] = found.sentinel_username
    if found.sentinel_password:
        sentinel_options["password"] = found.sentinel_password
    manager = aiosentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(found.sentinels), sentinel_kwargs=sentinel_options
    )
    master = {**options, "db": found.db, "username": found.username, "password": found.password}
    if found.ssl:
        master["ssl"] = True
    kind = SentinelBlockingConnectionPool if blocking else aiosentinel.SentinelConnectionPool
    made: aioredis.ConnectionPool = kind(found.service, manager, **master)  # type: ignore[no-untyped-call]
    return made


def is_managed(redis: aioredis.Redis) -> bool:
    """Whether the client finds its master through Sentinels."""
    return isinstance(redis.connection_pool, aiosentinel.SentinelConnectionPool)


async def master_address(redis: aioredis.Redis) -> tuple[str, int] | None:
    """Where the master is now, through the Sentinels (None: not a Sentinel client). A change
    between two calls is a failover."""
    pool = redis.connection_pool
    if not isinstance(pool, aiosentinel.SentinelConnectionPool):
        return None
    host, port = await pool.get_master_address()  # type: ignore[no-untyped-call]
    return str(host), int(port)
