"""The gates' minute reports as the central role installs them: nginx with the
production site sends POST report / heartbeat / proof-of-play to `gatecast central
serve-reports` (uvicorn, central/report_server.py), started as its unit starts it,
over real HTTP on both stores; everything else still goes to the application
server. Same answers as gunicorn gives (tests/central/test_central_api.py), from
the same checks and group commit."""

from __future__ import annotations

import json

import pytest
import urllib3

from tests.central.test_central_api import pop_row
from tests.support.central import served_reports
from tests.support.nginx import have_nginx, render, running_nginx

pytestmark = pytest.mark.skipif(not have_nginx(),
                                reason="nginx or its nchan module is not installed "
                                       "(scripts/setup.sh --tests)")


@pytest.fixture
def site(central, central_server, tmp_path):
    """nginx in front of the application server (in process) and one report server."""
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"
    with served_reports(central.state_dir, tmp_path / "reports.log", threads=8,
                        config=config) as reports_url:
        ng = render(tmp_path / "nginx", [central_server.server.server_port], central.state_dir,
                    reports=[int(reports_url.rsplit(":", 1)[1])])
        with running_nginx(ng, "/healthz"):
            pool = ng.pool(maxsize=2)
            try:
                yield pool, reports_url
            finally:
                pool.close()


def post(pool, path, token, body, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return pool.request("POST", path, body=body if isinstance(body, bytes) else
                        json.dumps(body).encode(), headers=headers)


def test_reports_go_to_the_report_server_with_the_same_answers(central, central_server, site):
    pool, reports_url = site
    token = central.gate("huu-nghi")
    in_process = central_server.app.extensions["gate_reports"].writer

    # The combined report: both parts stored in one request.
    r = post(pool, "/api/v1/gates/huu-nghi/report", token, {
        "heartbeat": {"sent_at": "2026-11-27T01:00:00+00:00", "release_version": None},
        "proof_of_play": {"batch_id": "b1", "rows": [pop_row(1), pop_row(2)]}})
    assert r.status == 200, r.data
    answer = json.loads(r.data)
    assert answer["heartbeat"]["ok"] is True and "published_version" in answer["heartbeat"]
    assert answer["proof_of_play"] == {"received": 2, "new": 2}
    assert "nosniff" in r.headers["X-Content-Type-Options"]
    assert central.db.count("heartbeat") == 1 and central.db.count("proof_of_play") == 2

    # Older gates' two requests, on the same kept-alive connections.
    r = post(pool, "/api/v1/gates/huu-nghi/proof-of-play", token,
             {"batch_id": "b2", "rows": [pop_row(2), pop_row(3)]})
    assert r.status == 200 and json.loads(r.data) == {"received": 2, "new": 1}
    r = post(pool, "/api/v1/gates/huu-nghi/heartbeat", token, {"release_version": 1})
    assert r.status == 200 and json.loads(r.data)["ok"] is True
    assert central.db.count("heartbeat") == 2 and central.db.count("proof_of_play") == 3
    # None of it went through the application server's own writer: nginx sent it on.
    assert in_process.items == 0

    # Refusals, as gunicorn answers them.
    r = post(pool, "/api/v1/gates/huu-nghi/report", "wrong", {"heartbeat": {}})
    assert r.status == 401 and json.loads(r.data) == {"error": "bad gate token"}
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="gatecast"'
    assert post(pool, "/api/v1/gates/nobody/report", token, {"heartbeat": {}}).status == 401
    r = post(pool, "/api/v1/gates/huu-nghi/report", token, b"{not json")
    assert r.status == 400 and "JSON" in json.loads(r.data)["error"]
    r = post(pool, "/api/v1/gates/huu-nghi/report", token, {"heartbeat": {}}, "text/plain")
    assert r.status == 400
    r = post(pool, "/api/v1/gates/huu-nghi/report", token,
             {"heartbeat": {"release_version": "seven"}})
    assert r.status == 400 and "release_version" in json.loads(r.data)["error"]
    assert central.db.count("heartbeat") == 2

    # The rest of the gates' API still reaches the application server.
    r = pool.request("GET", "/api/v1/gates/huu-nghi/screenshots")
    assert r.status in (404, 405)
    health = urllib3.request("GET", f"{reports_url}/healthz", retries=False)
    assert health.status == 200 and json.loads(health.data) == {"ok": True}
    assert urllib3.request("GET", f"{reports_url}/", retries=False).status == 404
