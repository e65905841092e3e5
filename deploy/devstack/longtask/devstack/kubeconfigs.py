"""Kubeconfig files for the local control plane: client certificates or bearer tokens.

Written as JSON: valid YAML for kubectl and every client, and what the runner reads without a
YAML parser (see `longtask.runner.credentials`).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _document(server: str, ca: Path, user: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "longtask-local",
                "cluster": {"server": server, "certificate-authority-data": _b64(ca)},
            }
        ],
        "users": [{"name": "user", "user": user}],
        "contexts": [
            {
                "name": "longtask-local",
                "context": {"cluster": "longtask-local", "user": "user", "namespace": namespace},
            }
        ],
        "current-context": "longtask-local",
    }


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    path.chmod(0o600)
    return path


def with_certificate(
    path: Path, server: str, ca: Path, cert: Path, key: Path, namespace: str = "default"
) -> Path:
    user = {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
    return _write(path, _document(server, ca, user, namespace))


def with_token(path: Path, server: str, ca: Path, token: str, namespace: str) -> Path:
    return _write(path, _document(server, ca, {"token": token}, namespace))
