"""deploy/nginx/gatecast-central.conf, run by a real nginx on 127.0.0.1 in front
of a real central server: TLS, the repository as static files with Range and
the right cache headers, the report API proxied, nothing else of the state
folder reachable."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import urllib3

from tests.support.media import make_image

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx" / "gatecast-central.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(),
                                reason="nginx is not installed (scripts/setup.sh --tests)")


def free_port() -> int:
    # nginx takes no port 0: ask the kernel for a free one and hand it over.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "central.example.gov.vn")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("central.example.gov.vn")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    crt, pem = folder / "central.crt", folder / "central.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


@pytest.fixture
def nginx(central, central_server, tmp_path):
    """The example config with only its addresses and paths replaced."""
    work = tmp_path / "nginx"
    work.mkdir()
    crt, key = self_signed(work)
    https, http = free_port(), free_port()
    site = CONF.read_text()
    for old, new in (
        ("server 127.0.0.1:8700;", f"server 127.0.0.1:{central_server.server.server_port};"),
        ("/var/lib/gatecast-central/", f"{central.state_dir}/"),
        ("/etc/ssl/gatecast/central.crt", str(crt)),
        ("/etc/ssl/gatecast/central.key", str(key)),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http};"),
        ("listen [::]:80;", ""),
    ):
        assert old in site, old
        site = site.replace(old, new)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read pytest's 0700 folders
    (work / "nginx.conf").write_text(f"""
{user}
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
{site}
}}
""")
    check = subprocess.run([NGINX, "-t", "-p", str(work), "-c", str(work / "nginx.conf")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-p", str(work), "-c", str(work / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pool = urllib3.HTTPSConnectionPool(
        "127.0.0.1", https, ca_certs=str(crt), server_hostname="central.example.gov.vn",
        assert_hostname="central.example.gov.vn", retries=False, timeout=30)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pool.request("GET", "/healthz")
                break
            except urllib3.exceptions.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.1)
        yield pool, http
    finally:
        pool.close()
        proc.send_signal(signal.SIGTERM)  # fast shutdown; SIGQUIT waits for idle keep-alives
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


@pytest.mark.slow
def test_nginx_serves_the_repository_and_proxies_reports(central, nginx, tmp_path):
    pool, http_port = nginx
    token = central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "big.png", size=(800, 600)))
    central.show("huu-nghi", [sha])
    central.publish()
    whole = (central.state_dir / "library" / sha).read_bytes()

    r = pool.request("GET", f"/tuf/targets/media/{sha}.{sha}", headers={"Range": "bytes=100-"})
    assert r.status == 206 and r.data == whole[100:]
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert r.headers["Content-Type"] == "application/octet-stream"
    for name in ("timestamp.json", "root.json"):
        r = pool.request("GET", f"/tuf/metadata/{name}")
        assert r.status == 200 and r.headers["Cache-Control"] == "no-cache", name
        assert json.loads(r.data)["signed"]["_type"] in ("timestamp", "root")
        assert r.headers["Strict-Transport-Security"].startswith("max-age="), name
    assert pool.request("GET", "/tuf/metadata/1.root.json").headers["Cache-Control"].endswith(
        "immutable")
    assert pool.request("GET", "/tuf/metadata/99.root.json").status == 404
    assert pool.request("POST", "/tuf/metadata/timestamp.json").status in (403, 405)
    for probe in ("/tuf/../keys/timestamp.pem", "/tuf/..%2Fkeys/timestamp.pem",
                  "/tuf/metadata/", "/keys/timestamp.pem", "/central.db"):
        r = pool.request("GET", probe)
        assert b"PRIVATE KEY" not in r.data and b"SQLite" not in r.data and r.status >= 300, probe

    body = json.dumps({"release_version": 1}).encode()
    r = pool.request("POST", "/api/v1/gates/huu-nghi/heartbeat", body=body,
                     headers={"Authorization": f"Bearer {token}",
                              "Content-Type": "application/json"})
    assert r.status == 200 and json.loads(r.data)["ok"] is True
    assert pool.request("POST", "/api/v1/gates/huu-nghi/heartbeat", body=body).status == 401
    assert pool.request("GET", "/").status == 401  # the overview wants a person
    plain = urllib3.request("GET", f"http://127.0.0.1:{http_port}/tuf/metadata/timestamp.json",
                            redirect=False, retries=False)
    assert plain.status == 301 and plain.headers["Location"].startswith("https://")
