"""Redis URLs with credentials put in, and the clients and pools built from URLs."""

from __future__ import annotations

import redis.asyncio as aioredis
from longtask.core import redisurls


def test_credentials_replace_those_of_the_address() -> None:
    url = redisurls.with_credentials("rediss://old:pw@[::1]:6380/2?ssl_cert_reqs=none", "u", "p/w")
    assert url == "rediss://u:p%2Fw@[::1]:6380/2?ssl_cert_reqs=none"
    assert redisurls.with_credentials("redis://r:6379/0", "u", "p") == "redis://u:p@r:6379/0"


async def test_a_client_connects_as_its_url_says() -> None:
    client = redisurls.client("rediss://u:p%2Fw@r:6380/2", socket_timeout=1.5)
    options = client.connection_pool.connection_kwargs
    assert (options["username"], options["password"]) == ("u", "p/w")
    assert (options["host"], options["port"], options["db"]) == ("r", 6380, 2)
    assert options["socket_timeout"] == 1.5
    await client.aclose()


def test_a_blocking_pool_waits_for_a_connection() -> None:
    blocking = redisurls.pool("redis://r/0", blocking=True, max_connections=3, timeout=2)
    assert isinstance(blocking, aioredis.BlockingConnectionPool)
    assert (blocking.max_connections, blocking.timeout) == (3, 2)
    assert not isinstance(redisurls.pool("redis://r/0"), aioredis.BlockingConnectionPool)
