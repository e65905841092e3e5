"""Where the runner finds the API server and its pod's service-account credentials.

Two sources, looked up in this order as Kubernetes clients do:

1. `KUBECONFIG`: a kubeconfig file. The local development node hands each pod one (processes
   on one machine cannot share the in-cluster token path). It is read as JSON, which the local
   node writes and which is valid YAML for kubectl and every other client, so that the runner
   needs no YAML parser. Only what a pod's credentials need is supported: the server, its CA
   (`certificate-authority-data` or a `certificate-authority` file) and a bearer `token` or
   `tokenFile`; anything else is refused with the reason.
2. In cluster: `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT` and the service-account
   volume's `token` and `ca.crt`.

A token file (in cluster, or `tokenFile`) is read again for every request: the kubelet rotates
projected tokens, and a patch goes out at most every few seconds, so one small file read each
time costs nothing and never sends a stale token.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

KUBECONFIG: Final = "KUBECONFIG"
SERVICE_HOST: Final = "KUBERNETES_SERVICE_HOST"
SERVICE_PORT: Final = "KUBERNETES_SERVICE_PORT"
# Where the kubelet mounts the pod's service-account token and the cluster's CA.
SERVICE_ACCOUNT_DIR: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class ConfigError(Exception):
    """No usable API server address or credentials."""


@dataclasses.dataclass(frozen=True)
class Credentials:
    """How to reach the API server and who to be there."""

    server: str
    """Base URL, `https://host:port`."""
    ca_file: Path | None = None
    """PEM file of the CA that signed the server's certificate."""
    ca_data: str | None = None
    """The same as PEM text (from `certificate-authority-data`)."""
    token: str | None = None
    """A fixed bearer token."""
    token_file: Path | None = None
    """A file holding the bearer token, read again for each request (rotation)."""

    def bearer(self) -> str:
        """The current bearer token."""
        if self.token_file is not None:
            return self.token_file.read_text().strip()
        assert self.token is not None
        return self.token

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the server against the cluster's CA (the system's when none is given)."""
        return ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None,
            cadata=self.ca_data,
        )


def from_environ(
    env: Mapping[str, str] = os.environ, service_account: Path = SERVICE_ACCOUNT_DIR
) -> Credentials:
    """The kubeconfig named by `KUBECONFIG` if set, else the in-cluster service account."""
    if env.get(KUBECONFIG):
        return from_kubeconfig(Path(env[KUBECONFIG]))
    return in_cluster(env, service_account)


def in_cluster(env: Mapping[str, str], folder: Path) -> Credentials:
    host, port = env.get(SERVICE_HOST), env.get(SERVICE_PORT)
    if not (host and port):
        raise ConfigError(f"neither {KUBECONFIG} nor {SERVICE_HOST}/{SERVICE_PORT} is set")
    token = folder / "token"
    if not token.is_file():
        raise ConfigError(f"no service-account token at {token}")
    ca = folder / "ca.crt"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return Credentials(
        server=f"https://{host}:{port}",
        ca_file=ca if ca.is_file() else None,
        token_file=token,
    )


def from_kubeconfig(path: Path) -> Credentials:
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the kubeconfig {path}: {exc}") from None
    except ValueError:
        raise ConfigError(
            f"the kubeconfig {path} is not JSON (the runner reads kubeconfigs as JSON, "
            "a form of YAML every Kubernetes client reads too)"
        ) from None
    if not isinstance(document, dict):
        raise ConfigError(f"the kubeconfig {path} is not a JSON object")
    context = _named(document, "contexts", document.get("current-context"), "context")
    cluster = _named(document, "clusters", context.get("cluster"), "cluster")
    user = _named(document, "users", context.get("user"), "user")
    server = cluster.get("server")
    if not server:
        raise ConfigError(f"the kubeconfig {path} names no server")
    if not str(server).startswith("https://"):
        raise ConfigError(f"the kubeconfig {path} names a server without TLS: {server}")
    ca_data = cluster.get("certificate-authority-data")
    ca_file = cluster.get("certificate-authority")
    token, token_file = user.get("token"), user.get("tokenFile")
    if not (token or token_file):
        raise ConfigError(
            f"the kubeconfig {path} has no bearer token (the runner authenticates as its pod's "
            "service account: `token` or `tokenFile`)"
        )
    # Relative paths in a kubeconfig are relative to the file itself.
    return Credentials(
        server=str(server),
        ca_file=path.parent / ca_file if ca_file else None,
        ca_data=_decoded(ca_data) if ca_data else None,
        token=str(token) if token else None,
        token_file=path.parent / token_file if token_file and not token else None,
    )


def _named(document: dict[str, Any], section: str, name: Any, key: str) -> dict[str, Any]:
    """The `key` object of the entry called `name` in the kubeconfig's `section`."""
    for entry in document.get(section) or []:
        if entry.get("name") == name:
            found: dict[str, Any] = entry.get(key) or {}
            return found
    raise ConfigError(f"the kubeconfig has no entry {name!r} in {section}")


def _decoded(data: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode()
    except ValueError:
        raise ConfigError("certificate-authority-data is not base64 PEM") from None
