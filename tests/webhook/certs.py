"""A CA and a serving certificate for 127.0.0.1: what the API server dials a `url`-registered webhook with."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.env import pki


def serving_cert(directory: Path) -> str:
    """tls.crt and tls.key for IP 127.0.0.1 in `directory`; returns the CA as a base64 PEM bundle (caBundle)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, key = pki.key(), pki.key()
    ca_name = pki.name("kcd-webhook-test-ca")
    ca = (
        pki.builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        pki.builder(pki.name("127.0.0.1"), ca.subject, key)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return base64.b64encode(ca.public_bytes(serialization.Encoding.PEM)).decode()
