"""A certificate nginx can serve to a gate that connects to https://127.0.0.1:<port>
and checks the certificate against the system's trust store (SSL_CERT_FILE), as
the real gate does: no test-only trust settings in the gate's code."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.nginx import HOSTNAME


def loopback_cert(folder: Path) -> Path:
    """Write a self-signed certificate for 127.0.0.1 and the site's name (and its
    key) as nginx's central.crt / central.key in `folder` (render's work folder);
    the path of the certificate, for SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName(HOSTNAME)]),
                critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "central.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "central.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return folder / "central.crt"
