"""The gate's kept connection (kiosk.sync.link) against the real central server, on
SQLite and PostgreSQL: a report sent twice is stored once, its heartbeat's history
included (which is what makes sending it again on a new connection safe), a kept
connection closed as the gate sends is sent again once, a failure on a new
connection is not, and the sync service's pulls, reports and long polls ride two
kept connections."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from kiosk.player import facestate
from kiosk.sync.loop import SyncService

from tests.support.nginx import SITE, have_nginx, render, running_nginx
from tests.support.sync.gate import Gate, running_sync
from tests.support.sync.keptproxy import KeptFault, KeptProxy
from tests.support.sync.tls import loopback_cert
from tests.support.wait import wait_for

GATE = "lang-son-huu-nghi"


def plays(n, sha="a" * 64):
    return [{"id": i, "face_id": 1, "media_sha256": sha, "entry_id": "c-e1", "level": "normal",
             "started_at": f"2026-11-27T08:{i % 60:02d}:00+07:00",
             "ended_at": f"2026-11-27T08:{i % 60:02d}:10+07:00", "outcome": "completed"}
            for i in range(1, n + 1)]


def stored(central) -> dict[str, list[dict]]:
    """What central holds of the gate's reports, table by table, in a fixed order."""
    q = central.db.query
    return {
        "proof_of_play": q("SELECT installation, row_id, face_id, media_sha256, entry_id, level, "
                           "started_at, ended_at, outcome, reason, batch_id FROM proof_of_play "
                           "ORDER BY installation, row_id"),
        "play_day": q("SELECT * FROM play_day ORDER BY day, face_id, media_sha256, entry_id, "
                      "outcome"),
        "face_time_day": q("SELECT day, face_id, state, seconds FROM face_time_day "
                           "ORDER BY day, face_id, state"),
        "gate_status": q("SELECT gate_id, sent_at, release_version, last_good_release_version, "
                         "heartbeat, last_heartbeat_at FROM gate_status"),
        "heartbeat": q("SELECT received_at, sent_at, body FROM heartbeat ORDER BY id"),
    }


def gate_behind(proxy, central, tmp_path, **settings) -> Gate:
    """A gate of `central` whose central_url is `proxy`'s (anything with a url)."""
    token = central.gate(GATE, faces=(1, 2))
    gate = Gate(tmp_path / "gate", proxy.url, central.repo.trusted_root_path.read_bytes(),
                gate_id=GATE, sync_screenshot_interval_s=0, **settings)
    gate.token_file.write_text(token + "\n")
    # Face 1 shows a picture: its heartbeats count face time at central.
    facestate.update(gate.db, 1, power="on", blanked=0, level="normal", entry_id="c-e1",
                     playing_sha256="a" * 64, playing_name="a.png", playing_kind="image",
                     since="2026-11-27T08:00:00+07:00")
    return gate


@pytest.fixture
def kept(central, central_server, tmp_path):
    """(proxy, gate, service): a gate reporting to the real central through a
    KeptProxy, one SyncService (its kept connection) for the whole test."""
    proxy = KeptProxy(central_server.url)
    gate = gate_behind(proxy, central, tmp_path)
    svc = SyncService(gate.settings, gate.db)
    try:
        yield proxy, gate, svc
    finally:
        svc.close()
        gate.close()
        proxy.close()


def seconds_between(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def test_a_report_whose_answer_was_lost_on_a_kept_connection_is_stored_once(central, kept):
    proxy, gate, svc = kept
    assert svc.report().code == "ok"  # the first heartbeat opens the kept connection
    time.sleep(1.1)  # the second heartbeat has its own sent_at
    gate.db["proof_of_play"].insert_all(plays(20))
    first_copy = []
    proxy.faults.append(KeptFault("lose_answer", "/report",
                                  then=lambda: first_copy.append(stored(central))))
    result = svc.report()
    assert result.code == "ok", result.error
    assert result.sent == {"proof_of_play": 20, "heartbeats": 1, "screenshots": 0}
    # Central stored the report, its answer was lost, the gate sent it again
    # on a new connection.
    assert proxy.fired and svc.link.resent == 1
    assert [p for _, m, p in proxy.requests if p.endswith("/report")] == [
        f"/api/v1/gates/{GATE}/report"] * 3
    assert proxy.connections == 2
    once, twice = first_copy[0], stored(central)
    assert len(once["proof_of_play"]) == 20
    # Stored once: the rows by their key, the day totals, what the faces showed.
    for table in ("proof_of_play", "play_day"):
        assert twice[table] == once[table], table
    faces = [r for r in once["face_time_day"] if r["face_id"] != 0]
    assert faces and [r for r in twice["face_time_day"] if r["face_id"] != 0] == faces
    # The status is the same heartbeat, received later.
    keep = ("gate_id", "sent_at", "release_version", "last_good_release_version", "heartbeat")
    assert ([{k: r[k] for k in keep} for r in twice["gate_status"]]
            == [{k: r[k] for k in keep} for r in once["gate_status"]])
    # The history holds the heartbeat once too (migration 0017: the same gate,
    # sent_at and body), received when the first copy came; the status took the
    # copy's arrival, so the link was online from one copy to the next, and that
    # time is counted once.
    assert twice["heartbeat"] == once["heartbeat"] and len(once["heartbeat"]) == 2
    copy = once["heartbeat"][-1]
    again = central.db.query("SELECT last_heartbeat_at FROM gate_status")[0]
    again = {"received_at": again["last_heartbeat_at"]}
    online = {r["day"]: r["seconds"] for r in once["face_time_day"]
              if (r["face_id"], r["state"]) == (0, "online")}
    online_after = {r["day"]: r["seconds"] for r in twice["face_time_day"]
                    if (r["face_id"], r["state"]) == (0, "online")}
    gap = seconds_between(copy["received_at"], again["received_at"])
    assert abs(sum(online_after.values()) - sum(online.values()) - gap) < 1e-3


def test_a_kept_connection_closed_as_the_report_goes_is_sent_again_once(central, kept):
    proxy, gate, svc = kept
    assert svc.report().code == "ok"
    gate.db["proof_of_play"].insert_all(plays(5))
    proxy.faults.append(KeptFault("close", "/report"))
    result = svc.report()
    assert result.code == "ok" and result.sent["proof_of_play"] == 5, result.error
    assert proxy.fired and svc.link.resent == 1 and proxy.connections == 2
    held = stored(central)
    assert len(held["proof_of_play"]) == 5 and len(held["heartbeat"]) == 2


def test_a_failure_on_a_new_connection_is_not_sent_again(central, kept):
    proxy, gate, svc = kept
    gate.db["proof_of_play"].insert_all(plays(5))
    proxy.faults.append(KeptFault("lose_answer", "/report", kept=False))
    result = svc.report()
    # The link's failure: everything stays queued for the next report.
    assert result.code == "offline" and svc.link.resent == 0
    assert gate.db.execute("SELECT count(*) FROM proof_of_play WHERE sent_at IS NULL"
                           ).fetchone()[0] == 5
    assert len(stored(central)["proof_of_play"]) == 5  # central has them already
    result = svc.report()
    assert result.code == "ok" and result.sent["proof_of_play"] == 5
    assert len(stored(central)["proof_of_play"]) == 5


def test_the_service_keeps_one_connection_for_reports_and_pulls_and_one_for_the_feed(
        central, central_server, tmp_path):
    proxy = KeptProxy(central_server.url)
    gate = gate_behind(proxy, central, tmp_path, sync_interval_s=3600,
                       sync_heartbeat_interval_s=0.3, sync_longpoll_s=1)
    wait_path = f"/api/v1/gates/{GATE}/wait"
    try:
        with running_sync(gate.settings) as svc:
            wait_for(lambda: sum(p.startswith(wait_path) for _, _, p in proxy.requests) >= 3
                     and len(central.db.query("SELECT id FROM heartbeat")) >= 6, 60,
                     "three long polls and six reports")
            links = (svc.link.opened, svc.feed_link.opened)
        by_connection: dict[int, set[str]] = {}
        for number, _, path in proxy.requests:
            kind = ("wait" if path.startswith(wait_path) else
                    "report" if path.endswith("/report") else "tuf" if "/tuf/" in path else path)
            by_connection.setdefault(number, set()).add(kind)
        # The first pull opens the loop's connection; the feed thread starts after it.
        assert by_connection == {1: {"tuf", "report"}, 2: {"wait"}}, by_connection
        assert links == (1, 1) and proxy.connections == 2
    finally:
        gate.close()
        proxy.close()


def test_when_every_kept_connection_drops_at_once_the_service_opens_new_ones(
        central, central_server, tmp_path):
    """nginx or central restarting: both kept connections close, one of them under
    a held long poll. Reports go on, on a new connection, and nothing stays queued;
    the feed comes back after its pause on a new one."""
    proxy = KeptProxy(central_server.url)
    gate = gate_behind(proxy, central, tmp_path, sync_interval_s=3600,
                       sync_heartbeat_interval_s=0.3, sync_longpoll_s=30)
    wait_path = f"/api/v1/gates/{GATE}/wait"
    beats = lambda: len(central.db.query("SELECT id FROM heartbeat"))  # noqa: E731
    waits = lambda: sum(p.startswith(wait_path) for _, _, p in proxy.requests)  # noqa: E731
    try:
        with running_sync(gate.settings) as svc:
            wait_for(lambda: waits() >= 1 and beats() >= 3, 60, "a held long poll and reports")
            before = beats()
            proxy.drop_all()
            wait_for(lambda: waits() >= 2 and beats() >= before + 5, 60,
                     "the feed asked again and five more reports")
            links = (svc.link.opened, svc.feed_link.opened)
            upstream = gate.sync_state()["upstream"]
        assert links == (2, 2) and proxy.connections == 4
        assert upstream["status"] == "ok" and upstream["pending"]["heartbeats"] == 0
    finally:
        gate.close()
        proxy.close()


@pytest.mark.slow
@pytest.mark.skipif(not have_nginx(), reason="nginx or its nchan module is not installed "
                    "(scripts/setup.sh --tests)")
def test_behind_the_nginx_site_over_tls_each_connection_is_opened_once(
        central, central_server, tmp_path, monkeypatch):
    """The production shape: nchan ends each long poll with 408 and keeps the
    connection, the gate asks again on it; the reports and the pull share the other.
    (nchan's 55 s made 2 s, so that several long polls end during the test.)"""
    site = tmp_path / "site.conf"
    site.write_text(SITE.read_text().replace("nchan_subscriber_timeout 55s;",
                                             "nchan_subscriber_timeout 2s;"))
    ng = render(tmp_path / "nginx", [central_server.server.server_port], central.state_dir,
                site=site)
    # The gate trusts central's certificate through the system's store, as in production.
    monkeypatch.setenv("SSL_CERT_FILE", str(loopback_cert(ng.work)))
    with running_nginx(ng, "/healthz"):
        gate = gate_behind(ng, central, tmp_path, sync_interval_s=3600,
                           sync_heartbeat_interval_s=0.5, sync_longpoll_s=2)
        try:
            with running_sync(gate.settings) as svc:
                wait_for(lambda: svc.feed_link.requests >= 4 and len(
                    central.db.query("SELECT id FROM heartbeat")) >= 8, 60,
                    "four long polls and eight reports")
                opened = (svc.link.opened, svc.feed_link.opened)
                resent = svc.link.resent + svc.feed_link.resent
            assert opened == (1, 1) and resent == 0
            assert gate.sync_state()["upstream"]["status"] == "ok"
        finally:
            gate.close()
