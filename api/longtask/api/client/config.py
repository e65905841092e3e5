"""Where the client finds the gateway and its token: arguments, environment, `.longtask/env`.

Each setting is taken from the first source that has it: an explicit argument, then the
environment (`LONGTASK_GATEWAY_URL`, `LONGTASK_TOKEN`), then the `.longtask/env` file that
`make up` writes, looked up in the working directory and its parents. The token is never part
of a repr or a log line.
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
# A dev-stack env file is a few lines; anything bigger is not one.
ENV_FILE_MAX_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class Config:
    """The gateway's base URL, the bearer token (optional) and the file they came from."""

    base_url: str = DEFAULT_URL
    token: str | None = field(default=None, repr=False)
    source: Path | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


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
    return Config(base_url=(url or DEFAULT_URL).rstrip("/"), token=tok, source=source)


def default_namespace(env: Mapping[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    return environ.get(NAMESPACE_VAR) or DEFAULT_NAMESPACE
