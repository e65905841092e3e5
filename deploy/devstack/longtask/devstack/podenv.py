"""The environment of a pod's container, built as the kubelet builds it.

Node-level variables first (PATH with the runner's virtualenv in front, HOME in the pod's
folder, the API server's service address, TMPDIR when an emptyDir is mounted at /tmp), then the
pod's service-account token as a per-pod kubeconfig in `KUBECONFIG` (processes on one machine
cannot share the in-cluster token path), then the container's own variables: plain values with
`$(VAR)` references expanded, downward-API fields, ConfigMap and Secret references.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from kubernetes_asyncio import client
from longtask.devstack import kubeconfigs

# The service-account tokens the node requests for its pods live as long as a day.
TOKEN_SECONDS = 24 * 3600


class PodEnvironment:
    """Builds containers' environments, reading tokens, ConfigMaps and Secrets from the API."""

    def __init__(self, core: client.CoreV1Api, server: str, ca_file: Path, path: str) -> None:
        self.core = core
        self.server = server
        self.ca_file = ca_file
        self.path = path

    async def node(self, pod: client.V1Pod, folder: Path) -> dict[str, str]:
        """What the node gives every container of `pod` (its token included)."""
        env = {
            "PATH": self.path,
            "HOME": str(folder),
            "HOSTNAME": pod.metadata.name,
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PYTHONUNBUFFERED": "1",
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": self.server.rsplit(":", 1)[-1],
        }
        for volume in pod.spec.volumes or []:
            if volume.empty_dir is not None:
                (folder / "volumes" / volume.name).mkdir(parents=True, exist_ok=True)
        for spec in pod.spec.containers:
            for mount in spec.volume_mounts or []:
                if mount.mount_path == "/tmp":
                    env["TMPDIR"] = str(folder / "volumes" / mount.name)
        if pod.spec.automount_service_account_token is not False:
            account = pod.spec.service_account_name or "default"
            token = await self.token(pod, account)
            env["KUBECONFIG"] = str(
                kubeconfigs.with_token(
                    folder / "kubeconfig",
                    self.server,
                    self.ca_file,
                    token,
                    pod.metadata.namespace,
                )
            )
        return env

    async def token(self, pod: client.V1Pod, account: str) -> str:
        """A token of `account` bound to the pod (it stops working when the pod is deleted)."""
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(
                audiences=[],
                expiration_seconds=TOKEN_SECONDS,
                bound_object_ref=client.V1BoundObjectReference(
                    kind="Pod", api_version="v1", name=pod.metadata.name, uid=pod.metadata.uid
                ),
            )
        )
        response = await self.core.create_namespaced_service_account_token(
            account, pod.metadata.namespace, request
        )
        return str(response.status.token)

    async def container(self, pod: client.V1Pod, spec: client.V1Container) -> dict[str, str]:
        """The container's own variables (`envFrom`, then `env`)."""
        namespace = pod.metadata.namespace
        env: dict[str, str] = {}
        for source in spec.env_from or []:
            prefix = source.prefix or ""
            if source.config_map_ref is not None:
                data = await self.config_map(namespace, source.config_map_ref.name)
                env.update({prefix + k: v for k, v in data.items()})
            if source.secret_ref is not None:
                data = await self.secret(namespace, source.secret_ref.name)
                env.update({prefix + k: v for k, v in data.items()})
        for var in spec.env or []:
            if var.value_from is None:
                env[var.name] = expand(var.value or "", env)
                continue
            origin = var.value_from
            if origin.field_ref is not None:
                env[var.name] = field_value(pod, origin.field_ref.field_path)
            elif origin.config_map_key_ref is not None:
                ref = origin.config_map_key_ref
                data = await self.config_map(namespace, ref.name)
                if ref.key in data:
                    env[var.name] = data[ref.key]
                elif not ref.optional:
                    raise KeyError(f"configmap {ref.name} has no key {ref.key}")
            elif origin.secret_key_ref is not None:
                ref = origin.secret_key_ref
                data = await self.secret(namespace, ref.name)
                if ref.key in data:
                    env[var.name] = data[ref.key]
                elif not ref.optional:
                    raise KeyError(f"secret {ref.name} has no key {ref.key}")
        return env

    async def config_map(self, namespace: str, name: str) -> dict[str, str]:
        found = await self.core.read_namespaced_config_map(name, namespace)
        return dict(found.data or {})

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        found = await self.core.read_namespaced_secret(name, namespace)
        return {k: base64.b64decode(v).decode() for k, v in (found.data or {}).items()}


def expand(value: str, env: dict[str, str]) -> str:
    """$(VAR) references to earlier variables, as the kubelet expands them."""
    for name, replacement in env.items():
        value = value.replace(f"$({name})", replacement)
    return value


def field_value(pod: client.V1Pod, path: str) -> str:
    """A downward-API field of the pod."""
    meta = pod.metadata
    simple = {
        "metadata.name": meta.name,
        "metadata.namespace": meta.namespace,
        "metadata.uid": meta.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name,
        "status.hostIP": "127.0.0.1",
        "status.podIP": "127.0.0.1",
        "status.podIPs": "127.0.0.1",
        "status.hostIPs": "127.0.0.1",
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix, mapping in (
        ("metadata.labels", meta.labels),
        ("metadata.annotations", meta.annotations),
    ):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((mapping or {}).get(path[len(prefix) + 2 : -2], ""))
    raise ValueError(f"unsupported downward-API field {path!r}")
