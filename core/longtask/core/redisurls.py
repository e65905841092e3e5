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
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import redis.asyncio as aioredis


def with_credentials(url: str, username: str, password: str) -> str:
    """`url` with its user and password replaced by these (percent-encoded)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    userinfo = f"{urllib.parse.quote(username, safe='')}:{urllib.parse.quote(password, safe='')}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def client(url: str, **options: Any) -> aioredis.Redis:
    """An asyncio client of `url` with a connection pool of its own (closed with it)."""
    return aioredis.Redis.from_url(url, **options)


def pool(url: str, *, blocking: bool = False, **options: Any) -> aioredis.ConnectionPool:
    """A connection pool of `url` for clients that share it. `blocking`: a caller beyond
    `max_connections` waits up to `timeout` for a free connection instead of failing."""
    kind = aioredis.BlockingConnectionPool if blocking else aioredis.ConnectionPool
    return kind.from_url(url, **options)
