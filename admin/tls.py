"""HTTPS for the admin on the gate's LAN.

The certificate is the province's when provisioning put one in place
(`admin_tls_cert` / `admin_tls_key`, default /etc/gatecast/admin-tls.*);
otherwise one is made at the first start, kept in <state>/tls/ (key mode
0600), and its SHA-256 fingerprint is printed on the console and by
`gatecast admin cert`, so a technician can compare it with what the browser
shows before trusting it. A plain-HTTP listener (`admin_http_redirect_bind`)
only redirects to HTTPS.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.web.i18n import N_

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def tls_wanted(setting: str, bind: str) -> bool:
    """'on', 'off', or 'auto': HTTPS unless the admin listens on loopback only
    (the demo, a developer's machine, the tests)."""
    if setting == "on":
        return True
    if setting == "off":
        return False
    host = bind.rpartition(":")[0]
    return host not in LOOPBACK_HOSTS


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    generated: bool  # made here (self-signed), not the province's
    fingerprint: str  # SHA-256, "AB:CD:…"
    subject: str
    not_after: datetime


class CertificateError(ValueError):
    """A province certificate that cannot serve the admin. str() is the English
    sentence (provisioning prints it); `say(gettext)` says it in the reader's
    language (`gatecast admin`, `gatecast admin cert`)."""

    def __init__(self, msgid: str, **params):
        super().__init__(msgid % params)
        self.msgid, self.params = msgid, params

    def say(self, gettext) -> str:
        return gettext(self.msgid, **self.params)


def certificate(settings) -> Certificate:
    """The province's certificate when both files exist, else this gate's own
    (made now if missing)."""
    cert, key = Path(settings["admin_tls_cert"]), Path(settings["admin_tls_key"])
    if cert.is_file() and key.is_file():
        check_pair(cert.read_bytes(), key.read_bytes(), f"{cert}")
        return describe(cert, key, generated=False)
    own_cert, own_key = own_paths(settings.state_path)
    if not (own_cert.is_file() and own_key.is_file()):
        generate(own_cert, own_key, settings["gate_name"], settings["gate_id"])
    return describe(own_cert, own_key, generated=True)


def check_pair(cert_pem: bytes, key_pem: bytes, name: str = "the certificate") -> None:
    """Refuse a certificate the admin could not serve: not PEM, its key not the
    private half of it, or outside its validity. Provisioning runs this on the
    Ansible machine before anything reaches a gate (deploy/ansible/site.yml)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        c = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise CertificateError(N_("%(name)s is not a PEM X.509 certificate"), name=name) from None
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise CertificateError(N_("the key of %(name)s is not an unencrypted PEM private key"),
                               name=name) from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(*spki) != c.public_key().public_bytes(*spki):
        raise CertificateError(N_("the key of %(name)s does not belong to it (another key pair)"),
                               name=name)
    now = datetime.now(timezone.utc)
    if not c.not_valid_before_utc <= now <= c.not_valid_after_utc:
        raise CertificateError(N_("%(name)s is valid only from %(first)s to %(last)s"), name=name,
                               first=f"{c.not_valid_before_utc:%d/%m/%Y}",
                               last=f"{c.not_valid_after_utc:%d/%m/%Y}")


def own_paths(state: Path) -> tuple[Path, Path]:
    return state / "tls" / "admin-cert.pem", state / "tls" / "admin-key.pem"


def describe(cert: Path, key: Path, generated: bool) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    c = x509.load_pem_x509_certificate(cert.read_bytes())
    digest = c.fingerprint(hashes.SHA256()).hex().upper()
    return Certificate(cert, key, generated, ":".join(digest[i:i + 2] for i in range(0, len(digest), 2)),
                       c.subject.rfc4514_string(), c.not_valid_after_utc)


def generate(cert: Path, key: Path, gate_name: str, gate_id: str) -> None:
    """A self-signed certificate for this controller's names and addresses,
    valid ten years (a gate may go long without a technician)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    hostname = socket.gethostname()
    names: list[x509.GeneralName] = [x509.DNSName(hostname), x509.DNSName("localhost")]
    if gate_id and gate_id != hostname:
        names.append(x509.DNSName(gate_id))
    for address in _addresses():
        names.append(x509.IPAddress(address))
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, (gate_id or hostname)[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, (gate_name or "gatecast")[:64]),
    ])
    now = datetime.now(timezone.utc)
    built = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
             .public_key(private.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=3650))
             .add_extension(x509.SubjectAlternativeName(names), critical=False)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .sign(private, hashes.SHA256()))
    cert.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(cert.parent, 0o700)
    _write(key, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()), 0o600)
    _write(cert, built.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    # Several gunicorn workers never race here (the master makes it before
    # forking), but a crash must not leave half a key: write, then rename.
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _addresses() -> list:
    out = {ipaddress.ip_address("127.0.0.1")}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            out.add(ipaddress.ip_address(info[4][0].split("%")[0]))
    except (OSError, ValueError):
        pass
    return sorted(out, key=str)


def _host_of(authority: str) -> str:
    """The host of a Host header ('gate:80', '[fe80::1]:80', '10.0.0.5'), or ''."""
    try:
        host = urlsplit("//" + authority.strip()).hostname or ""
    except ValueError:
        return ""
    # A name or an address, nothing else goes into the Location header.
    return host if re.fullmatch(r"[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+", host) else ""


def start_redirect(bind: str, https_port: int) -> ThreadingHTTPServer:
    """A plain-HTTP listener that answers every request with a redirect to the
    same path over HTTPS (a daemon thread of gunicorn's master process)."""
    host, _, port = bind.rpartition(":")

    class Redirect(BaseHTTPRequestHandler):
        def _go(self):
            target_host = _host_of(self.headers.get("Host") or "") or _host_of(host) or host
            if ":" in target_host:  # IPv6
                target_host = f"[{target_host}]"
            self.send_response(308)
            self.send_header("Location", f"https://{target_host}:{https_port}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_POST = _go  # noqa: N815 - http.server's naming

        def log_message(self, fmt, *args):  # the access log is gunicorn's
            return

    server = ThreadingHTTPServer((host.strip("[]"), int(port)), Redirect)
    threading.Thread(target=server.serve_forever, name="https-redirect", daemon=True).start()
    return server
