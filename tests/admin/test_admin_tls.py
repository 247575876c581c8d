"""HTTPS on the gate's LAN: a certificate made at the first start (its
fingerprint on the console and from `gatecast admin cert`), Secure cookies,
HSTS, and plain HTTP redirected to HTTPS — the installed command, real
gunicorn, real TLS."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import subprocess

import pytest
import urllib3

from tests.support.admin import GATECAST, clean_env, start_process, stop_process
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_https_with_own_certificate_redirect_secure_cookie_and_hsts(tmp_path):
    state, config = tmp_path / "state", tmp_path / "gatecast.toml"
    redirect_port = _free_port()
    # 'on': the test listens on loopback, where 'auto' would stay on plain HTTP.
    config.write_text(f'admin_tls = "on"\nadmin_tls_cert = "{tmp_path}/none.crt"\n'
                      f'admin_tls_key = "{tmp_path}/none.key"\n'
                      f'admin_http_redirect_bind = "127.0.0.1:{redirect_port}"\n')
    common = ["--state", str(state), "--config", str(config)]
    env = clean_env()
    subprocess.run([GATECAST, "migrate", *common], env=env, check=True, capture_output=True)
    log = tmp_path / "admin.log"
    proc = start_process([GATECAST, "admin", *common, "--bind", "127.0.0.1:0", "--workers", "1"], env, log)
    try:
        port = wait_for(lambda: re.findall(rb"Listening at: https?://127\.0\.0\.1:(\d+)", log.read_bytes()),
                        60, "gunicorn to listen")[0].decode()
        console = log.read_text()
        # In the gate's language, Vietnamese unless set otherwise.
        printed = re.search(r"dấu vân tay SHA-256 ([0-9A-F:]{95})", console).group(1)
        wait_for(lambda: "Redirecting http://" in log.read_text(), 30, "the redirect listener")
        # The certificate the server presents is the one whose fingerprint was printed.
        pem = ssl.get_server_certificate(("127.0.0.1", int(port)))
        served = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
        assert printed.replace(":", "") == served
        cert = subprocess.run([GATECAST, "admin", "cert", *common], env=env, capture_output=True, text=True,
                              check=True).stdout
        assert f"Dấu vân tay SHA-256: {printed}" in cert and "tự ký" in cert
        assert oct((state / "tls" / "admin-key.pem").stat().st_mode & 0o777) == "0o600"
        # Trust exactly that certificate, as a technician who compared the fingerprint does.
        http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(state / "tls" / "admin-cert.pem"),
                                   assert_hostname=False)
        resp = http.request("GET", f"https://127.0.0.1:{port}/setup", redirect=False)  # no account yet
        assert resp.status == 200
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        cookie = resp.headers.get("Set-Cookie", "")
        assert "gatecast_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
        # Plain HTTP only redirects, to the same path over HTTPS.
        plain = urllib3.PoolManager().request("GET", f"http://127.0.0.1:{redirect_port}/power/?x=1",
                                              redirect=False)
        assert plain.status == 308
        assert plain.headers["Location"] == f"https://127.0.0.1:{port}/power/?x=1"
    finally:
        stop_process(proc)


def test_auto_is_https_on_a_lan_address_and_http_on_loopback():
    from admin.tls import tls_wanted

    assert tls_wanted("auto", "192.168.1.10:8080") and tls_wanted("auto", "0.0.0.0:8080")
    assert not tls_wanted("auto", "127.0.0.1:8080") and not tls_wanted("off", "192.168.1.10:8080")
    assert tls_wanted("on", "127.0.0.1:8080")


def test_a_province_certificate_with_another_key_is_refused_in_words(tmp_path):
    """A certificate put in place with the wrong key: `gatecast admin` and
    `gatecast admin cert` say what is wrong instead of gunicorn's TLS traceback;
    the right pair is served as the province's."""
    from tests.support.ansible import write_province_certificate

    _, cert, key = write_province_certificate(tmp_path / "a", "gate", "127.0.0.1")
    _, _, other = write_province_certificate(tmp_path / "b", "gate", "127.0.0.1")
    state, config = tmp_path / "state", tmp_path / "gatecast.toml"
    config.write_text(f'admin_tls = "on"\nadmin_tls_cert = "{cert}"\nadmin_tls_key = "{other}"\n')
    common = ["--state", str(state), "--config", str(config)]
    env = clean_env()
    subprocess.run([GATECAST, "migrate", *common], env=env, check=True, capture_output=True)
    for argv in (["admin", *common, "--bind", "127.0.0.1:0"], ["admin", "cert", *common]):
        proc = subprocess.run([GATECAST, *argv], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert f"khóa của {cert} không thuộc về chứng chỉ này" in proc.stderr, proc.stderr
    config.write_text(f'admin_tls = "on"\nadmin_tls_cert = "{cert}"\nadmin_tls_key = "{key}"\n')
    shown = subprocess.run([GATECAST, "admin", "cert", *common], env=env, capture_output=True, text=True,
                           check=True).stdout
    assert "do tỉnh cấp" in shown and f"Chứng chỉ: {cert}" in shown
    # English when the gate's language is English.
    config.write_text(config.read_text() + 'language = "en"\n')
    shown = subprocess.run([GATECAST, "admin", "cert", *common], env=env, capture_output=True, text=True,
                           check=True).stdout
    assert "installed (province)" in shown and f"Certificate: {cert}" in shown
    assert re.search(r"SHA-256 fingerprint: [0-9A-F:]{95}", shown)
    assert not (state / "tls").exists(), "no certificate of its own when the province's is there"


def test_redirect_keeps_the_host_asked_for_and_nothing_else():
    from admin.tls import _host_of

    assert _host_of("10.20.1.10") == _host_of("10.20.1.10:80") == "10.20.1.10"
    assert _host_of("[fe80::1]:80") == "fe80::1" and _host_of("gate-01.local") == "gate-01.local"
    assert _host_of("bad host") == "" and _host_of("") == ""  # the listener's own address is used
