"""The gateway's long-lived resources, opened at start-up and closed at shutdown.

One Kubernetes client, one Redis pool for short commands (a blocking pool: it waits for a free
connection instead of raising MaxConnectionsError when hundreds of clients catch up at once),
one separate Redis client for the hub's blocking XREAD, the hub, the authorizer, the signer,
and the engine of the task history's database when one is configured (read only: the operator
writes and migrates it).
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from longtask.api import apikeys, auth, namespaces, streamtokens
from longtask.api import observability as obs
from longtask.api.kube import Kube
from longtask.api.settings import AuthMode, Settings
from longtask.api.streaming import sse
from longtask.api.streaming.follow import Followers
from longtask.api.streaming.hub import StreamHub
from longtask.api.streaming.watches import WatchHub
from longtask.core import redisurls
from longtask.history import engines
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

REDIS_CONNECT_TIMEOUT = 2.0
REDIS_COMMAND_TIMEOUT = 5.0


@dataclass
class Runtime:
    settings: Settings
    kube: Kube
    redis: Redis
    reader: Redis
    hub: StreamHub
    followers: Followers
    authorizer: auth.Authorizer
    signer: streamtokens.Signer
    namespaces: namespaces.Namespaces
    history: AsyncEngine | None = None

    async def close(self) -> None:
        if self.history is not None:
            await self.history.dispose()
        await self.followers.watches.stop()
        await self.hub.stop()
        await self.reader.aclose()
        await self.redis.aclose()
        await self.kube.close()


def grants_of(settings: Settings) -> list[apikeys.Grant]:
    """Every API key grant the settings define (plaintext LONGTASK_API_KEY is hashed here)."""
    grants = apikeys.parse(settings.api_keys.get_secret_value())
    if settings.api_keys_file is not None:
        grants += apikeys.parse(settings.api_keys_file.read_text())
    if settings.api_key is not None and settings.api_key.get_secret_value():
        grants.append(apikeys.Grant(apikeys.hash_key(settings.api_key.get_secret_value()), None))
    return grants


def check(settings: Settings) -> None:
    """Refuse configurations that are unsafe or cannot work (raises ValueError)."""
    if settings.auth_mode is AuthMode.NONE and not settings.is_loopback():
        raise ValueError(
            f"auth mode 'none' only binds a loopback address, not {settings.host!r}; "
            "use LONGTASK_AUTH_MODE=apikey or kubernetes"
        )
    if settings.auth_mode is AuthMode.APIKEY and not grants_of(settings):
        raise ValueError("auth mode 'apikey' needs LONGTASK_API_KEY, _API_KEYS or _API_KEYS_FILE")
    dsn = settings.history_dsn.get_secret_value()
    if dsn:
        engines.backend(dsn)  # ValueError for a database the history does not support


async def open_runtime(settings: Settings) -> Runtime:
    check(settings)
    dsn = settings.history_dsn.get_secret_value()
    kube = await Kube.connect(settings.kubeconfig)
    pool = redisurls.pool(
        settings.redis_url,
        blocking=True,
        decode_responses=True,
        max_connections=settings.redis_max_connections,
        timeout=REDIS_COMMAND_TIMEOUT,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_COMMAND_TIMEOUT,
        # A pooled connection Redis closed (a restart, a failover, an idle timeout) is retried on
        # a fresh one rather than answered with a 503; the gateway only reads, so a retry is safe.
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 2),
        retry_on_error=[RedisConnectionError],
    )
    redis = Redis(connection_pool=pool)
    reader = Redis(
        connection_pool=redisurls.pool(
            settings.redis_url,
            decode_responses=True,
            max_connections=4,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            # Longer than the XREAD block (hub design choice 1).
            socket_timeout=settings.xread_block_ms / 1000 + REDIS_COMMAND_TIMEOUT,
        )
    )
    hub = StreamHub(
        reader,
        redis,
        block_ms=settings.xread_block_ms,
        # A whole XREAD reply lands in every client's queue at once: keep it to half a queue,
        # so that only a client that really falls behind overflows.
        count=max(1, min(settings.xread_count, settings.client_queue_size // 2)),
        queue_size=settings.client_queue_size,
        retry_seconds=settings.redis_retry_seconds,
        conflate=lambda entry: sse.is_progress(entry.fields),
        master=functools.partial(redisurls.master_address, reader)
        if redisurls.is_managed(reader)
        else None,
    )
    hub.start()
    watches = WatchHub(kube)
    obs.FOLLOWED_STREAMS.set_function(lambda: hub.streams)
    obs.FOLLOWED_WATCHES.set_function(lambda: watches.watches)
    authorizer: auth.Authorizer
    if settings.auth_mode is AuthMode.NONE:
        authorizer = auth.NoAuth()
    elif settings.auth_mode is AuthMode.APIKEY:
        authorizer = auth.ApiKeyAuth(grants_of(settings))
    else:
        authorizer = auth.KubernetesAuth(kube, settings.auth_cache_seconds)
    secret = (
        settings.stream_token_secret.get_secret_value().encode()
        if settings.stream_token_secret is not None
        else secrets.token_bytes(32)
    )
    return Runtime(
        settings=settings,
        kube=kube,
        redis=redis,
        reader=reader,
        hub=hub,
        followers=Followers(
            hub,
            redis,
            watches,
            end_grace_seconds=settings.final_end_grace_seconds,
            queue_size=settings.client_queue_size,
        ),
        authorizer=authorizer,
        signer=streamtokens.Signer(secret),
        namespaces=namespaces.Namespaces(kube.namespace_exists),
        history=engines.create(dsn, settings.history_pool_size) if dsn else None,
    )
