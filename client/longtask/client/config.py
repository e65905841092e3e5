"""A client's one settings object, `Config`, and where it comes from (`discover`).

The gateway's URL and token are taken from the first source that has them: an explicit
argument, then the environment (`LONGTASK_GATEWAY_URL`, `LONGTASK_TOKEN`), then the
`.longtask/env` file that `make up` writes, looked up in the working directory and its parents;
the default namespace from an argument, then LONGTASK_NAMESPACE. The token is never part of a
repr or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from dotenv import dotenv_values

GATEWAY_URL_VAR: Final = "LONGTASK_GATEWAY_URL"
TOKEN_VAR: Final = "LONGTASK_TOKEN"
NAMESPACE_VAR: Final = "LONGTASK_NAMESPACE"
ENV_FILE: Final = Path(".longtask") / "env"
DEFAULT_URL: Final = "http://127.0.0.1:8080"
DEFAULT_NAMESPACE: Final = "default"
# How long a follow keeps reconnecting without a working connection before it gives up.
DEFAULT_GIVE_UP_AFTER: Final = 300.0
# A dev-stack env file is a few lines; anything bigger is not one.
ENV_FILE_MAX_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class Config:
    """Where the gateway is, the bearer token (optional), the default namespace, and how a
    follow reconnects (backoff from `initial_delay` doubling to `max_delay`, giving up after
    `give_up_after` seconds without a working connection)."""

    base_url: str = DEFAULT_URL
    token: str | None = field(default=None, repr=False)
    namespace: str = DEFAULT_NAMESPACE
    source: Path | None = None  # the `.longtask/env` the URL came from, if it did
    give_up_after: float = DEFAULT_GIVE_UP_AFTER
    initial_delay: float = 0.5
    max_delay: float = 5.0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def ns(self, namespace: str | None) -> str:
        """`namespace`, else the default one."""
        return namespace or self.namespace


def find_env_file(start: Path) -> Path | None:
    """The nearest `.longtask/env` in `start` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / ENV_FILE
        if candidate.is_file():
            return candidate
    return None


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=VALUE pairs of an env file (empty when it is too large to be one)."""
    if path.stat().st_size > ENV_FILE_MAX_BYTES:
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def discover(
    base_url: str | None = None,
    token: str | None = None,
    *,
    namespace: str | None = None,
    give_up_after: float = DEFAULT_GIVE_UP_AFTER,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """The configuration from arguments, then the environment, then `.longtask/env`."""
    environ = os.environ if env is None else env
    url = base_url or environ.get(GATEWAY_URL_VAR) or None
    tok = token or environ.get(TOKEN_VAR) or None
    source = None
    if url is None or tok is None:
        path = find_env_file(cwd or Path.cwd())
        if path is not None:
            values = read_env_file(path)
            file_url = values.get(GATEWAY_URL_VAR) or None
            # The token of the file belongs to the file's gateway: never send it elsewhere.
            if url is None or url == file_url:
                url = url or file_url
                tok = tok or values.get(TOKEN_VAR) or None
                source = path if file_url else None
    return Config(
        base_url=(url or DEFAULT_URL).rstrip("/"),
        token=tok,
        namespace=namespace or default_namespace(environ),
        source=source,
        give_up_after=give_up_after,
    )


def default_namespace(env: Mapping[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    return environ.get(NAMESPACE_VAR) or DEFAULT_NAMESPACE
