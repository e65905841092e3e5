"""The local Kubernetes control plane: etcd, kube-apiserver and kube-controller-manager on
loopback with free ports, RBAC on, service-account tokens signed by a local key, and an admin
kubeconfig. etcd speaks TLS and wants a client certificate of the stack's CA.

The binaries come from `deploy/controlplane/build.sh` (built once from the Go module proxy and
cached outside the repository) or from `KUBEBUILDER_ASSETS` when that is set. etcd is the Go
module's 3.6 (the version k8s.io/kubernetes itself requires), not Debian's 3.4: the API server of
this release expects the 3.5+ watch-progress behaviour for consistent reads from its cache.

The API server keeps an audit log (`audit.log` in the state, JSON lines) of every write to what
longtask writes (Jobs, LongTasks and their status, schedules, Events, runner accounts), with the
writer's user agent: the drills read who wrote what, and when, from there.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

from longtask.devstack import certs, kubeconfigs, procs

REPO = Path(__file__).resolve().parents[4]
BUILD_SCRIPT = REPO / "deploy" / "controlplane" / "build.sh"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"

# Controllers the tests and the product rely on; the rest (nodes, services, …) stay off.
CONTROLLERS = [
    "job-controller",
    "garbage-collector-controller",
    "ttl-after-finished-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "namespace-controller",
    "root-ca-certificate-publisher-controller",
    "cronjob-controller",
    "pod-garbage-collector-controller",
]


# What the audit log records: writes (metadata only) to the objects longtask writes.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {
            "level": "Metadata",
            "verbs": ["create", "update", "patch", "delete"],
            "resources": [
                {"group": "batch", "resources": ["jobs"]},
                {"group": "longtask.io"},
                {"group": "", "resources": ["events", "serviceaccounts"]},
                {"group": "rbac.authorization.k8s.io", "resources": ["rolebindings"]},
            ],
        },
        {"level": "None"},
    ],
}


def audit_log(state: Path) -> Path:
    return state / "audit.log"


@dataclasses.dataclass(frozen=True)
class ControlPlane:
    server: str
    ca_cert: Path
    admin_kubeconfig: Path
    pki: certs.Pki
    procs: list[procs.Proc]


def binaries() -> Path:
    """The folder holding kube-apiserver, kube-controller-manager and etcd (built when missing)."""
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


def start(state: Path, bin_dir: Path | None = None) -> ControlPlane:
    """Starts etcd, the API server and the controller manager; returns once the API is ready."""
    bin_dir = bin_dir or binaries()
    logs = state / "logs"
    pki = certs.create(
        state / "pki",
        {
            "admin": ("longtask-admin", "system:masters"),
            "controller-manager": ("system:kube-controller-manager", None),
            "localnode": ("system:node:localnode", "system:nodes"),
            "apiserver-etcd-client": ("kube-apiserver-etcd-client", None),
        },
    )
    started: list[procs.Proc] = []
    try:
        etcd_port = procs.free_port()
        started.append(_start_etcd(bin_dir, pki, state / "etcd", etcd_port, logs))
        server = f"https://127.0.0.1:{procs.free_port()}"
        policy = state / "audit-policy.json"
        policy.write_text(json.dumps(AUDIT_POLICY))
        started.append(
            _start_apiserver(
                bin_dir,
                pki,
                f"https://127.0.0.1:{etcd_port}",
                server,
                logs,
                [f"--audit-policy-file={policy}", f"--audit-log-path={audit_log(state)}"],
            )
        )
        admin = pki.client("admin")
        admin_kubeconfig = kubeconfigs.with_certificate(
            state / "kubeconfig", server, pki.ca_cert, admin.cert, admin.key
        )
        kcm = pki.client("controller-manager")
        kcm_kubeconfig = kubeconfigs.with_certificate(
            state / "controller-manager.kubeconfig", server, pki.ca_cert, kcm.cert, kcm.key
        )
        started.append(_start_controller_manager(bin_dir, pki, kcm_kubeconfig, logs))
        return ControlPlane(server, pki.ca_cert, admin_kubeconfig, pki, started)
    except BaseException:
        for proc in reversed(started):
            procs.stop(proc)
        raise


def _start_etcd(bin_dir: Path, pki: certs.Pki, data_dir: Path, port: int, logs: Path) -> procs.Proc:
    """etcd on loopback, TLS only, every client and peer with a certificate of the stack's CA:
    a local process without one (a task's, in the local node's process mode) cannot reach the
    cluster's data behind the API server's back."""
    peer = f"https://127.0.0.1:{procs.free_port()}"
    tls = [f"--cert-file={pki.serving_cert}", f"--key-file={pki.serving_key}"]
    tls += [f"--trusted-ca-file={pki.ca_cert}", "--client-cert-auth"]
    tls += [f"--peer-cert-file={pki.serving_cert}", f"--peer-key-file={pki.serving_key}"]
    tls += [f"--peer-trusted-ca-file={pki.ca_cert}", "--peer-client-cert-auth"]
    etcd = procs.start(
        "etcd",
        [
            str(bin_dir / "etcd"),
            "--name=local",
            f"--data-dir={data_dir}",
            f"--listen-client-urls=https://127.0.0.1:{port}",
            f"--advertise-client-urls=https://127.0.0.1:{port}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=local={peer}",
            *tls,
            "--listen-metrics-urls=",
            # Development data: durability across a power loss is not worth an fsync per write.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
        logs,
    )
    procs.wait_until(lambda: procs.port_open(port), etcd, "etcd", timeout=30)
    return etcd


def _start_apiserver(
    bin_dir: Path, pki: certs.Pki, etcd: str, server: str, logs: Path, extra: list[str]
) -> procs.Proc:
    """The API server at `server` (https://127.0.0.1:<port>), returned once it is ready."""
    apiserver = procs.start(
        "kube-apiserver",
        [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={etcd}",
            f"--etcd-cafile={pki.ca_cert}",
            f"--etcd-certfile={pki.client('apiserver-etcd-client').cert}",
            f"--etcd-keyfile={pki.client('apiserver-etcd-client').key}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={server.rsplit(':', 1)[1]}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--service-cluster-ip-range=10.96.0.0/16",
            # No Service traffic here: the apiserver must not publish a loopback endpoint.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=false",
            "--profiling=false",
            "--v=1",
            *extra,
        ],
        logs,
    )
    admin = pki.client("admin")
    procs.wait_until(
        lambda: procs.https_ok(f"{server}/readyz", pki.ca_cert, (admin.cert, admin.key)),
        apiserver,
        "kube-apiserver",
        timeout=120,
    )
    return apiserver


def _start_controller_manager(
    bin_dir: Path, pki: certs.Pki, kubeconfig: Path, logs: Path
) -> procs.Proc:
    return procs.start(
        "kube-controller-manager",
        [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--controllers={','.join(CONTROLLERS)}",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={procs.free_port()}",
            "--concurrent-job-syncs=20",
            "--concurrent-gc-syncs=20",
            "--v=1",
        ],
        logs,
    )
