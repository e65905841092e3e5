"""Redis URLs with credentials put in, and the clients and pools built from URLs, to one server
or through Sentinel."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from longtask.core import redisurls
from redis.asyncio import BlockingConnectionPool, ConnectionPool
from redis.asyncio.sentinel import SentinelConnectionPool


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


def test_a_sentinel_url_names_the_sentinels_the_service_the_database_and_credentials() -> None:
    found = redisurls.parse_sentinel(
        "redis+sentinel://op:s%40cret@10.0.0.1:26379,10.0.0.2,[::1]:26380/longtask/2"
        "?sentinel_password=watch"
    )
    assert found == redisurls.SentinelUrl(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380)),
        service="longtask",
        db=2,
        username="op",
        password="s@cret",
        ssl=False,
        sentinel_password="watch",
    )
    assert redisurls.parse_sentinel("rediss+sentinel://h:1/m").ssl


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://localhost:6379/0", "not a Sentinel URL"),
        ("redis+sentinel://h:1", "names the master's service"),
        ("redis+sentinel://h:1/m/0/x", "names the master's service"),
        ("redis+sentinel://h:port/m", "not a port"),
        ("redis+sentinel://h:1/m/zero", "not a database number"),
        ("redis+sentinel://h:1,/m", "host:port of each Sentinel"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_naming_the_problem(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        redisurls.parse_sentinel(url)


async def test_pools_follow_the_url() -> None:
    plain = redisurls.pool("redis://127.0.0.1:9/3", blocking=True, timeout=1)
    assert type(plain) is BlockingConnectionPool
    assert plain.connection_kwargs["db"] == 3
    assert type(redisurls.pool("redis://127.0.0.1:9/0")) is ConnectionPool
    url = "redis+sentinel://gw:pw@127.0.0.1:9,127.0.0.1:10/longtask/1"
    managed = redisurls.pool(url, blocking=True, max_connections=7, timeout=2)
    assert isinstance(managed, SentinelConnectionPool)
    assert isinstance(managed, BlockingConnectionPool)  # waits for a free connection
    assert managed.max_connections == 7
    assert (managed.service_name, managed.connection_kwargs["db"]) == ("longtask", 1)
    assert managed.connection_kwargs["username"] == "gw"
    sentinels = managed.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [9, 10]
    assert sentinels[0].connection_pool.connection_kwargs["password"] is None  # not the master's
    client = redisurls.client(url, socket_timeout=1)
    assert await redisurls.master_address(redisurls.client("redis://127.0.0.1:9/0")) is None
    await client.aclose()


def test_a_tasks_sentinel_url_carries_its_own_credentials_to_the_master() -> None:
    runner = "redis+sentinel://127.0.0.1:1,127.0.0.1:2/longtask/0"
    task = redisurls.parse_sentinel(redisurls.with_credentials(runner, "lt-task-u1", "p/w"))
    assert (task.username, task.password) == ("lt-task-u1", "p/w")
    assert task.sentinels == (("127.0.0.1", 1), ("127.0.0.1", 2))
