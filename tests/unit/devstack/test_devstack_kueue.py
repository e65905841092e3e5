"""The local Kueue's set-up, without a cluster: its certificates pass the checks of Kueue's
certificate rotator (so it keeps them) and reach the loopback address, its CRDs convert through
the loopback webhook, and its configuration runs only the Job integration."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from longtask.devstack import kueue


def sans(pem: bytes) -> list[object]:
    cert = x509.load_pem_x509_certificate(pem)
    return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


def test_certificates_are_the_ones_kueues_rotator_keeps() -> None:
    data = kueue.certificates()
    assert set(data) == {"ca.crt", "ca.key", "tls.crt", "tls.key"}
    # The rotator verifies the CA against its own name and parses its key as PKCS#1 RSA.
    assert x509.DNSName(kueue.CA_NAME) in sans(data["ca.crt"])
    assert data["ca.key"].startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert isinstance(serialization.load_pem_private_key(data["ca.key"], None), rsa.RSAPrivateKey)
    served = sans(data["tls.crt"])
    assert x509.DNSName(f"{kueue.SERVICE}.{kueue.NAMESPACE}.svc") in served
    assert x509.IPAddress(ipaddress.ip_address("127.0.0.1")) in served
    serving = x509.load_pem_x509_certificate(data["tls.crt"])
    serving.verify_directly_issued_by(x509.load_pem_x509_certificate(data["ca.crt"]))


def test_crds_kueue_converts_go_through_the_loopback_webhook(tmp_path: Path) -> None:
    (tmp_path / "bases").mkdir()
    for plural in ("workloads", "resourceflavors"):
        crd = {"kind": "CustomResourceDefinition", "spec": {"names": {"plural": plural}}}
        (tmp_path / "bases" / f"kueue.x-k8s.io_{plural}.yaml").write_text(yaml.safe_dump(crd))
    found = {c["spec"]["names"]["plural"]: c for c in kueue.crds(tmp_path, 9443, b"CA")}
    webhook = found["workloads"]["spec"]["conversion"]["webhook"]
    assert webhook["clientConfig"] == {"url": "https://127.0.0.1:9443/convert", "caBundle": "Q0E="}
    assert "conversion" not in found["resourceflavors"]["spec"]


def test_configuration_runs_the_job_integration_on_loopback(tmp_path: Path) -> None:
    config = kueue.configuration(9443, 8081, tmp_path)
    assert config["integrations"] == {"frameworks": ["batch/job"]}
    assert config["webhook"] == {"host": "127.0.0.1", "port": 9443, "certDir": str(tmp_path)}
    assert config["manageJobsWithoutQueueName"] is False
    assert config["internalCertManagement"]["webhookSecretName"] == kueue.SECRET
