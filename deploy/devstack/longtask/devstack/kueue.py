"""Kueue on the local control plane, for the tests of longtask's Kueue path.

Design choices:
1. Built from its Go module like the control plane (`deploy/kueue/build.sh`, cached outside
   the repository) and started only by the Kueue tests' fixture: `make up` and the rest of the
   suite never pay for it.
2. Kueue's internal certificate management stays on (off, it reads metrics certificates from a
   fixed path under /etc). We hand it the Secret it would otherwise create, with a CA of our own
   and a serving certificate valid both for its service name (which its rotator checks) and for
   127.0.0.1, so the API server can call its webhook server on the loopback address. The same
   files go into its certificate folder, as the kubelet would mount the Secret there.
3. The conversion webhooks of its CRDs (whose CA bundle the rotator insists on injecting) point
   at `https://127.0.0.1:<port>/convert`. Its admission webhooks are not registered: longtask
   creates Jobs suspended and labelled, so Kueue's Job reconciler is all it takes.
4. Only the `batch/job` integration: the local control plane has no other workload APIs.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import ipaddress
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from longtask.devstack import procs

REPO = Path(__file__).resolve().parents[4]
BUILD_SCRIPT = REPO / "deploy" / "kueue" / "build.sh"
NAMESPACE = "kueue-system"
SERVICE = "kueue-webhook-service"
SECRET = "kueue-webhook-server-cert"
# The name Kueue's certificate rotator checks its CA against.
CA_NAME = "kueue-ca"
# The CRDs Kueue converts by webhook, and whose CA bundle its rotator injects
# (pkg/util/cert/cert.go). Others, such as ResourceFlavor, have no conversion: a webhook for them
# fails every read of another version (the garbage collector reads them all).
CONVERTED = frozenset(
    {"localqueues", "clusterqueues", "workloads", "cohorts", "multikueueclusters"}
)
# Longer than the rotator's 90-day look-ahead, or it would replace our certificates.
VALIDITY = datetime.timedelta(days=3650)


@dataclasses.dataclass(frozen=True)
class Kueue:
    proc: procs.Proc
    webhook_port: int
    health_port: int

    def stop(self) -> None:
        procs.stop(self.proc)


def binaries() -> Path:
    """The folder holding the `kueue` binary and its release's `crd/` (built when missing)."""
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    # PKCS#1: the rotator parses the CA key with x509.ParsePKCS1PrivateKey.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def certificates() -> dict[str, bytes]:
    """The webhook Secret's data (choice 2): `ca.crt`, `ca.key`, `tls.crt`, `tls.key`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(CA_NAME)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sans: list[x509.GeneralName] = [
        x509.DNSName(f"{SERVICE}.{NAMESPACE}.svc"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    serving = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVICE)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return {
        "ca.crt": _pem(ca),
        "ca.key": _key_pem(ca_key),
        "tls.crt": _pem(serving),
        "tls.key": _key_pem(key),
    }


def crds(folder: Path, webhook_port: int, ca_pem: bytes) -> list[dict[str, Any]]:
    """Kueue's CRDs; those its certificate rotator injects its CA into (`CONVERTED`) with the
    conversion webhook on the loopback address (choice 3)."""
    out = []
    for path in sorted((folder / "bases").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        if crd["spec"]["names"]["plural"] in CONVERTED:
            crd["spec"]["conversion"] = {
                "strategy": "Webhook",
                "webhook": {
                    "conversionReviewVersions": ["v1"],
                    "clientConfig": {
                        "url": f"https://127.0.0.1:{webhook_port}/convert",
                        "caBundle": base64.b64encode(ca_pem).decode(),
                    },
                },
            }
        out.append(crd)
    return out


def configuration(webhook_port: int, health_port: int, cert_dir: Path) -> dict[str, Any]:
    """Kueue's Configuration (config.kueue.x-k8s.io/v1beta2) for the local stack."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": NAMESPACE,
        "health": {"healthProbeBindAddress": f"127.0.0.1:{health_port}"},
        "metrics": {"bindAddress": "0"},
        "webhook": {"host": "127.0.0.1", "port": webhook_port, "certDir": str(cert_dir)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {
            "enable": True,
            "webhookServiceName": SERVICE,
            "webhookSecretName": SECRET,
        },
        "manageJobsWithoutQueueName": False,
        "integrations": {"frameworks": ["batch/job"]},
    }


def start(kubectl: Any, kubeconfig: Path, state: Path) -> Kueue:
    """Installs Kueue's CRDs and Secret with `kubectl` (the stack's) and starts Kueue against
    the API server of `kubeconfig`; returns once it is ready (its certificates in place)."""
    bin_dir = binaries()
    state.mkdir(parents=True, exist_ok=True)
    webhook_port, health_port = procs.free_port(), procs.free_port()
    data = certificates()
    docs: list[dict[str, Any]] = crds(bin_dir / "crd", webhook_port, data["ca.crt"])
    docs += [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        },
    ]
    names = [
        f"crd/{d['metadata']['name']}" for d in docs if d["kind"] == "CustomResourceDefinition"
    ]
    listed = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=listed)
    kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)
    cert_dir = state / "certs"
    cert_dir.mkdir(mode=0o700, exist_ok=True)
    for name, content in data.items():
        (cert_dir / name).write_bytes(content)
        (cert_dir / name).chmod(0o600)
    config = state / "kueue-config.yaml"
    config.write_text(yaml.safe_dump(configuration(webhook_port, health_port, cert_dir)))
    proc = procs.start(
        "kueue",
        [
            str(bin_dir / "kueue"),
            f"--config={config}",
            f"--kubeconfig={kubeconfig}",
            # Its visibility API server would need an APIService and a port of its own.
            "--feature-gates=VisibilityOnDemand=false",
        ],
        state / "logs",
    )
    kueue = Kueue(proc, webhook_port, health_port)
    try:
        procs.wait_until(lambda: _ready(health_port), proc, "Kueue", timeout=120)
    except BaseException:
        kueue.stop()
        raise
    return kueue


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
