"""Where the runner finds the API server and its token: a JSON kubeconfig or the in-cluster
service account (files in a temporary folder standing in for the kubelet's volume)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from longtask.devstack import certs
from longtask.runner import credentials


def kubeconfig(
    path: Path,
    user: dict[str, Any],
    cluster: dict[str, Any] | None = None,
    current: str = "pod",
) -> Path:
    """A kubeconfig with a decoy context besides `pod`, the one `current` names by default."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "other", "cluster": {"server": "https://other.invalid:6443"}},
            {"name": "local", "cluster": cluster or {"server": "https://127.0.0.1:6443"}},
        ],
        "users": [
            {"name": "admin", "user": {"token": "admin-token"}},
            {"name": "runner", "user": user},
        ],
        "contexts": [
            {"name": "decoy", "context": {"cluster": "other", "user": "admin"}},
            {"name": "pod", "context": {"cluster": "local", "user": "runner"}},
        ],
        "current-context": current,
    }
    path.write_text(json.dumps(document))
    return path


def test_a_kubeconfig_gives_the_current_contexts_server_ca_and_token(tmp_path: Path) -> None:
    pki = certs.create(tmp_path / "pki", {})
    ca = base64.b64encode(pki.ca_cert.read_bytes()).decode()
    cluster = {"server": "https://127.0.0.1:6443", "certificate-authority-data": ca}
    path = kubeconfig(tmp_path / "kubeconfig", {"token": "pod-token"}, cluster)
    found = credentials.from_environ({"KUBECONFIG": str(path)})
    assert (found.server, found.bearer()) == ("https://127.0.0.1:6443", "pod-token")
    [authority] = found.ssl_context().get_ca_certs()
    assert authority["subject"] == ((("commonName", "longtask-local-ca"),),)


def test_a_token_file_is_read_again_for_each_request(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first\n")
    path = kubeconfig(tmp_path / "kubeconfig", {"tokenFile": "token"})
    found = credentials.from_kubeconfig(path)
    assert found.bearer() == "first"
    (tmp_path / "token").write_text("rotated\n")
    assert found.bearer() == "rotated"


def test_a_relative_ca_file_is_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    pki = certs.create(tmp_path / "pki", {})
    cluster = {"server": "https://127.0.0.1:6443", "certificate-authority": "pki/ca.crt"}
    path = kubeconfig(tmp_path / "kubeconfig", {"token": "t"}, cluster)
    found = credentials.from_kubeconfig(path)
    assert found.ca_file == pki.ca_cert
    assert len(found.ssl_context().get_ca_certs()) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("apiVersion: v1\nkind: Config\n", "not JSON"),
        ("[]", "not a JSON object"),
    ],
)
def test_a_kubeconfig_that_is_not_a_json_object_is_refused_with_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(credentials.ConfigError, match=reason):
        credentials.from_kubeconfig(path)


@pytest.mark.parametrize(
    ("user", "cluster", "current", "reason"),
    [
        ({"client-certificate": "c.crt", "client-key": "c.key"}, None, "pod", "no bearer token"),
        ({"token": "t"}, {"server": "http://127.0.0.1:8080"}, "pod", "without TLS"),
        ({"token": "t"}, {"insecure-skip-tls-verify": True}, "pod", "no server"),
        ({"token": "t"}, None, "missing", "no entry 'missing' in contexts"),
    ],
)
def test_a_kubeconfig_the_runner_cannot_use_is_refused_with_the_reason(
    tmp_path: Path,
    user: dict[str, Any],
    cluster: dict[str, Any] | None,
    current: str,
    reason: str,
) -> None:
    path = kubeconfig(tmp_path / "kubeconfig", user, cluster, current)
    with pytest.raises(credentials.ConfigError, match=reason):
        credentials.from_kubeconfig(path)


def test_in_cluster_the_service_host_and_the_mounted_token_and_ca_are_used(tmp_path: Path) -> None:
    pki = certs.create(tmp_path / "pki", {})
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "token").write_text("projected")
    (folder / "ca.crt").write_bytes(pki.ca_cert.read_bytes())
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    found = credentials.from_environ(env, folder)
    assert (found.server, found.ca_file, found.bearer()) == (
        "https://10.0.0.1:443",
        folder / "ca.crt",
        "projected",
    )
    (folder / "token").write_text("rotated by the kubelet")
    assert found.bearer() == "rotated by the kubelet"


def test_in_cluster_an_ipv6_service_host_is_bracketed(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t")
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    assert credentials.in_cluster(env, tmp_path).server == "https://[fd00::1]:443"


def test_a_kubeconfig_comes_before_the_in_cluster_account(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("in-cluster")
    path = kubeconfig(tmp_path / "kubeconfig", {"token": "from-kubeconfig"})
    env = {
        "KUBECONFIG": str(path),
        "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
    }
    assert credentials.from_environ(env, tmp_path).bearer() == "from-kubeconfig"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({}, "neither KUBECONFIG nor KUBERNETES_SERVICE_HOST"),
        (
            {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"},
            "no service-account token",
        ),
    ],
)
def test_without_a_kubeconfig_or_a_mounted_token_there_are_no_credentials(
    tmp_path: Path, env: dict[str, str], reason: str
) -> None:
    with pytest.raises(credentials.ConfigError, match=reason):
        credentials.from_environ(env, tmp_path)
