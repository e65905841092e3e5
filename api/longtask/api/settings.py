"""The gateway's settings: one pydantic-settings object read from LONGTASK_* variables.

Routers read it through `deps.get_settings` (cached), which tests override.
"""

from __future__ import annotations

import enum
import ipaddress
from pathlib import Path

from longtask.core import admission
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthMode(enum.StrEnum):
    KUBERNETES = "kubernetes"  # TokenReview + SubjectAccessReview (in-cluster default)
    APIKEY = "apikey"  # hashed keys mapped to namespaces
    NONE = "none"  # no auth; only on a loopback address


class Settings(BaseSettings):
    """Gateway configuration; every field is read from `LONGTASK_<FIELD>` unless noted."""

    model_config = SettingsConfigDict(env_prefix="LONGTASK_", extra="ignore")

    auth_mode: AuthMode = Field(AuthMode.KUBERNETES, description="kubernetes, apikey or none.")
    api_keys: SecretStr = Field(
        SecretStr(""),
        description="Hashed API keys mapped to namespaces: 'sha256hex:ns1,ns2;sha256hex:*'.",
    )
    api_keys_file: Path | None = Field(
        None, description="A file with one 'sha256hex:ns1,ns2' entry per line (same format)."
    )
    api_key: SecretStr | None = Field(
        None, description="One plaintext key valid in every namespace (hashed at start)."
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("LONGTASK_REDIS_URL", "REDIS_URL"),
        description="Redis of the task streams.",
    )
    history_dsn: SecretStr = Field(
        SecretStr(""),
        description="The task history's database (postgresql://… or sqlite:///…); empty: none.",
    )
    history_pool_size: int = Field(5, ge=1, le=50, description="Connections to the history.")
    host: str = Field("127.0.0.1", description="Address uvicorn binds.")
    port: int = Field(8080, ge=0, le=65535, description="Port uvicorn binds (0: any free).")
    metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="A port of its own for /metrics, on the same address (a NetworkPolicy can "
        "then fence it apart from the API); 0: /metrics is served on the API's port.",
    )
    kubeconfig: str | None = Field(
        None,
        validation_alias=AliasChoices("LONGTASK_KUBECONFIG", "KUBECONFIG"),
        description="Kubeconfig file; in-cluster configuration when unset.",
    )
    stream_token_secret: SecretStr | None = Field(
        None, description="HMAC secret of stream tokens; random per process when unset."
    )
    stream_token_ttl_seconds: int = Field(300, ge=10, le=86400)
    auth_cache_seconds: float = Field(10.0, ge=0, description="TTL of token and access reviews.")
    sse_ping_seconds: float = Field(15.0, gt=0, description="Comment pings on idle streams.")
    sse_retry_ms: int = Field(2000, ge=100, description="The retry: hint sent to SSE clients.")
    sse_send_timeout_seconds: float = Field(10.0, gt=0, description="A slower client is dropped.")
    client_queue_size: int = Field(
        2000, ge=10, description="Pending events per client before it is dropped."
    )
    xread_block_ms: int = Field(1000, ge=10, le=30000, description="Block time of the XREAD.")
    xread_count: int = Field(1000, ge=1, description="Entries per stream and XREAD.")
    redis_max_connections: int = Field(50, ge=2, le=100)
    redis_retry_seconds: float = Field(1.0, gt=0, description="Reconnect interval when down.")
    final_end_grace_seconds: float = Field(
        10.0, gt=0, description="Wait for the end event of a final task before synthesising it."
    )
    max_body_bytes: int = Field(256 * 1024, ge=1024, description="Largest request body.")
    runner_image: str = Field(
        admission.DEFAULT_RUNNER_IMAGE,
        description="The operator's runner image (its registry path: the default allowed images).",
    )
    runner_service_account: str = Field(
        admission.DEFAULT_RUNNER_SERVICE_ACCOUNT,
        description="The runner's account, which the operator provisions (never looked up).",
    )
    allowed_images: str = Field(
        "",
        description="Comma-separated glob patterns of the images a task may name, as the "
        "operator's (empty: the runner image's registry path).",
    )
    # Request heads (`httplimits`); the defaults stay within what websockets parses (8 KiB lines,
    # 128 headers), so that every WebSocket upgrade the server lets through is answered.
    max_url_bytes: int = Field(
        8000, ge=256, le=8150, description="Longest URL (path and query); longer: 414."
    )
    max_header_line_bytes: int = Field(
        8190, ge=256, le=8190, description="Longest header line (name: value); longer: 431."
    )
    max_headers: int = Field(100, ge=10, le=128, description="Most headers; more: 431.")
    max_head_bytes: int = Field(
        64 * 1024, ge=4096, description="Request line and headers together; more: 431."
    )
    log_level: str = Field("info")

    @property
    def image_patterns(self) -> tuple[str, ...]:
        """The images a task may name (the operator's rule, see `allowed_images`)."""
        listed = tuple(p.strip() for p in self.allowed_images.split(",") if p.strip())
        return listed or admission.default_image_patterns(self.runner_image)

    def is_loopback(self) -> bool:
        """Whether `host` is a loopback address (required for auth mode none)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
