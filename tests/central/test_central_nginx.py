"""deploy/nginx/gatecast-central.conf, run by a real nginx on 127.0.0.1 in front
of a real central server: TLS, the repository as static files with Range and
the right cache headers, the report API proxied, nothing else of the state
folder reachable."""

from __future__ import annotations

import json

import pytest
import urllib3

from tests.support.media import make_image
from tests.support.nginx import have_nginx, render, running_nginx

pytestmark = pytest.mark.skipif(not have_nginx(),
                                reason="nginx or its nchan module is not installed "
                                       "(scripts/setup.sh --tests)")


@pytest.fixture
def nginx(central, central_server, tmp_path):
    """The example config with only its addresses and paths replaced."""
    ng = render(tmp_path / "nginx", [central_server.server.server_port], central.state_dir)
    with running_nginx(ng, "/healthz"):
        pool = ng.pool()
        try:
            yield pool, ng.http
        finally:
            pool.close()


@pytest.mark.slow
def test_nginx_serves_the_repository_and_proxies_reports(central, central_server, nginx,
                                                          tmp_path):
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
    # nginx's own answer: its security headers once each.
    assert r.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert len(r.headers.getlist("Strict-Transport-Security")) == 1
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
    # A gate's minute as one report, here the largest the gate sends (500 rows).
    rows = [{"id": i, "face_id": 1, "media_sha256": sha, "started_at": "2026-11-27T08:00:00+07:00",
             "outcome": "completed", "reason": "x" * 200} for i in range(1, 501)]
    report = json.dumps({"heartbeat": {"release_version": 1},
                         "proof_of_play": {"batch_id": "b", "rows": rows}}).encode()
    r = pool.request("POST", "/api/v1/gates/huu-nghi/report", body=report,
                     headers={"Authorization": f"Bearer {token}",
                              "Content-Type": "application/json"})
    answer = json.loads(r.data)
    assert r.status == 200 and answer["heartbeat"]["ok"] is True
    assert answer["proof_of_play"] == {"received": 500, "new": 500}
    # The console wants a person: its login page, over TLS, with the strict CSP.
    console = pool.request("GET", "/", redirect=False)
    assert console.status == 302 and "/login" in console.headers["Location"]
    login = pool.request("GET", "/login")
    assert login.status == 200 and "script-src 'self'" in login.headers["Content-Security-Policy"]
    # A proxied page: the application sends nosniff too (it must without nginx), nginx
    # hides that copy and adds its own: once, not "nosniff, nosniff".
    direct = urllib3.request("GET", f"{central_server.url}/login", retries=False)
    assert direct.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    for page in (login, r):  # the console's login page and a gate's report answer
        assert page.headers.getlist("X-Content-Type-Options") == ["nosniff"]
        assert len(page.headers.getlist("Strict-Transport-Security")) == 1
        assert len(page.headers.getlist("X-Frame-Options")) == 1
    plain = urllib3.request("GET", f"http://127.0.0.1:{http_port}/tuf/metadata/timestamp.json",
                            redirect=False, retries=False)
    assert plain.status == 301 and plain.headers["Location"].startswith("https://")


def test_nginx_ports_are_chosen_where_no_connection_takes_them(monkeypatch):
    """nginx takes no port 0, so the tests choose its ports: below the kernel's
    ephemeral range, which every connect() draws from. A heavy bench holding
    thousands of connections (or another test's bind(0)) then cannot take a port
    between the choice and nginx's bind (it did: "Address already in use")."""
    import socket

    from tests.support import nginx

    low, _ = nginx.ephemeral_ports()
    ports = nginx.free_ports(3)
    assert all(1024 <= p < low for p in ports) and len(set(ports)) == 3, (ports, low)
    # A port in use is passed over: the random draw offers the taken one first.
    offered = iter([ports[0], ports[0], ports[1], ports[1], ports[2]])

    class Draws:
        def choice(self, candidates):
            port = next(offered)
            assert port in candidates
            return port

    monkeypatch.setattr(nginx.random, "SystemRandom", Draws)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports[0]))
        taken.listen()
        assert nginx.free_ports(2) == [ports[1], ports[2]]


def test_nginx_keeps_an_idle_gate_connection_longer_than_a_gate_reuses_one():
    """A gate reuses its kept connection after at most kiosk.sync.link.IDLE_S idle (a
    minute's heartbeat, +-20 %); the site keeps an idle connection longer, so a gate
    never sends into a connection nginx is closing at that moment."""
    import re

    from kiosk.sync.link import IDLE_S
    from tests.support.nginx import SITE

    gates_server = SITE.read_text().split("listen 443 ssl", 1)[1]
    timeouts = re.findall(r"\n\s*keepalive_timeout (\d+)s;", gates_server)
    assert len(timeouts) == 1 and int(timeouts[0]) >= IDLE_S + 10, timeouts
