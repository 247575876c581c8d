"""The gate's reports to a real central (the Flask app over real HTTP on 127.0.0.1,
SQLite): ONE request a minute carries the heartbeat and the proof of play
(POST report), a backlog rides in the heartbeats queued during the outage, the
gate forgets rows only once central acknowledged them, and a refused or unstored
part keeps the other. The separate requests a central from before `report`
takes are tested against the double in test_sync_reports.py."""

from __future__ import annotations

import pytest

from kiosk.sync import outbox
from kiosk.sync.report import PLAY_BATCH, PLAY_BYTES

from tests.support.central import LiveServer, make_central
from tests.support.media import make_image
from tests.support.sync.gate import Gate
from tests.support.wait import wait_for
from tests.sync.test_sync_reports import add_plays, dead_url, service, unsent

GATE_ID = "lang-son-huu-nghi"


class Seen:
    """WSGI wrapper in front of the central app: the path and size of each request;
    with `portal` set, every request is answered 200 with a web page instead, as a
    captive portal or a misrouted proxy would."""

    def __init__(self, app):
        self.app, self.requests, self.portal = app, [], False

    def __call__(self, environ, start_response):
        self.requests.append((environ["PATH_INFO"], int(environ.get("CONTENT_LENGTH") or 0)))
        if self.portal:
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<html>Dang nhap Wi-Fi</html>"]
        return self.app(environ, start_response)

    def paths(self) -> list[str]:
        return [p.rsplit("/", 1)[-1] for p, _ in self.requests]


@pytest.fixture
def real(tmp_path):
    """A real central with the gate registered, its server, and what it was sent."""
    c = make_central(tmp_path / "central")
    c.gate(GATE_ID)
    server = LiveServer(c.settings)
    server.seen = Seen(server.app.wsgi_app)
    server.app.wsgi_app = server.seen
    c.server = server
    yield c
    server.close()
    c.db.close()


@pytest.fixture
def gate(tmp_path, real):
    g = Gate(tmp_path / "gate", real.server.url, real.repo.trusted_root_path.read_bytes())
    g.token_file.write_text(real.tokens[GATE_ID] + "\n")
    yield g
    g.close()


def test_a_gates_minute_is_one_request(gate, real, tmp_path):
    add_plays(gate.db, 12)
    r = service(gate).report()
    assert r.code == "ok", r.error
    assert r.requests == 1 and real.server.seen.paths() == ["report"]
    assert r.sent == {"proof_of_play": 12, "heartbeats": 1, "screenshots": 0}
    assert real.db.count("proof_of_play") == 12 and real.db.count("heartbeat") == 1
    assert unsent(gate.db) == 0 and outbox.pending(gate.db)["heartbeats"] == 0
    # Next minute, after a publication: nothing new played, the heartbeat alone, whose
    # answer names the gate's new release (the loop then pulls at once).
    real.show(GATE_ID, [real.media(make_image(tmp_path / "a.png"))])
    version = real.publish().changed[GATE_ID]
    watch = real.server.app.extensions["release_watch"]  # polls the publications
    wait_for(lambda: watch.current(GATE_ID) == version, 60, "central to see its publication")
    r = service(gate).report()
    assert r.requests == 1 and r.sent["heartbeats"] == 1 and r.sent["proof_of_play"] == 0
    assert r.published_version == version > 0
    assert real.db.count("heartbeat") == 2 and real.db.count("proof_of_play") == 12


def test_an_outages_backlog_rides_in_the_heartbeats_queued_during_it(gate, real):
    add_plays(gate.db, 1200)
    offline = service(gate, central_url=dead_url())
    for _ in range(2):
        assert offline.report().code == "offline"
    r = service(gate).report()
    assert r.code == "ok", r.error
    # Three heartbeats (two queued offline, one now), each carrying up to 500 rows.
    assert r.requests == 3 == -(-1200 // PLAY_BATCH)
    assert r.sent == {"proof_of_play": 1200, "heartbeats": 3, "screenshots": 0}
    assert real.db.count("proof_of_play") == 1200 and unsent(gate.db) == 0
    sent_at = [row["sent_at"] for row in real.db.query(
        "SELECT sent_at FROM heartbeat ORDER BY received_at, id")]
    assert len(sent_at) == 3 and sent_at == sorted(sent_at)
    assert real.db.scalar("SELECT sum(plays) FROM play_day") == 1200

    # More rows than the queued heartbeats carry: reports of proof of play alone follow.
    add_plays(gate.db, 1100, start_id=1201)
    r = service(gate).report()
    assert r.code == "ok" and r.requests == 3
    assert r.sent["proof_of_play"] == 1100 and unsent(gate.db) == 0


def test_a_report_carries_at_most_play_bytes_of_rows(gate, real):
    add_plays(gate.db, 900)
    gate.db.execute("UPDATE proof_of_play SET reason = ?", ["x" * 480])
    r = service(gate).report()
    assert r.code == "ok" and r.sent["proof_of_play"] == 900 and unsent(gate.db) == 0
    sizes = [size for path, size in real.server.seen.requests]
    assert len(sizes) >= 3 and max(sizes) < PLAY_BYTES + 4096  # the rows, the heartbeat


def test_a_refused_row_is_set_aside_and_the_heartbeat_still_arrives(gate, real):
    add_plays(gate.db, 40)
    gate.db.execute("UPDATE proof_of_play SET media_sha256 = '../x' WHERE id = 17")
    r = service(gate).report()
    assert r.code == "ok", r.error
    assert r.sent == {"proof_of_play": 39, "heartbeats": 1, "screenshots": 0}
    assert real.db.count("heartbeat") == 1 and real.db.count("proof_of_play") == 39
    assert gate.db["sync_rejected_play"].get(17)["status"] == 400
    assert gate.db["proof_of_play"].get(17)["sent_at"] is None  # kept, never deleted
    assert [e["code"] for e in gate.events("play_rejected")] == ["play_rejected"]
    # Found by halving the batch with POST proof-of-play, after the one report.
    paths = real.server.seen.paths()
    assert paths[0] == "report" and set(paths[1:]) == {"proof-of-play"}
    r = service(gate).report()  # the row set aside is not sent again
    assert r.requests == 1 and r.sent["proof_of_play"] == 0


def test_a_refused_heartbeat_is_dropped_and_its_rows_still_arrive(gate, real):
    add_plays(gate.db, 5)
    outbox.enqueue_heartbeat(gate.db, GATE_ID)
    gate.db.execute("UPDATE sync_outbox SET body = '[\"not a heartbeat\"]'")
    r = service(gate).report(heartbeat=False)
    assert r.code == "ok" and r.requests == 1 and r.dropped == 1
    assert r.sent == {"proof_of_play": 5, "heartbeats": 0, "screenshots": 0}
    assert real.db.count("heartbeat") == 0 and real.db.count("proof_of_play") == 5
    assert outbox.pending(gate.db)["heartbeats"] == 0
    assert [e["code"] for e in gate.events("heartbeat_")] == ["heartbeat_rejected"]


def test_what_central_could_not_store_stays_queued(gate, real):
    add_plays(gate.db, 10)
    writer = real.server.app.extensions["gate_reports"].writer
    store = writer._write
    broken = {"beat": True, "plays": True}

    def write(conn, reports):  # the database refuses what `broken` says
        if any((r.beat and broken["beat"]) or (r.plays and broken["plays"]) for r in reports):
            raise RuntimeError("the database is down")
        return store(conn, reports)

    writer._write = write
    r = service(gate).report()
    assert r.code == "offline" and "500" in r.error
    assert unsent(gate.db) == 10 and outbox.pending(gate.db)["heartbeats"] == 1
    # Only the heartbeat fails: the rows are acknowledged, the heartbeat waits.
    broken["plays"] = False
    r = service(gate).report(heartbeat=False)
    assert r.code == "offline" and "heartbeat" in r.error
    assert unsent(gate.db) == 0 and outbox.pending(gate.db)["heartbeats"] == 1
    assert real.db.count("proof_of_play") == 10 and real.db.count("heartbeat") == 0
    broken["beat"] = False
    r = service(gate).report()
    assert r.code == "ok" and r.requests == 2 and real.db.count("heartbeat") == 2


def test_a_wrong_token_is_reported_and_nothing_is_dropped(gate, real):
    add_plays(gate.db, 5)
    gate.token_file.write_text("not-the-token")
    r = service(gate).report()
    assert r.code == "unauthorised"
    assert unsent(gate.db) == 5 and outbox.pending(gate.db)["heartbeats"] == 1
    assert gate.sync_state()["upstream"]["status"] == "unauthorised"
    assert real.db.count("heartbeat") == 0


def test_an_answer_that_is_not_centrals_acknowledges_nothing(gate, real):
    add_plays(gate.db, 5)
    real.server.seen.portal = True
    r = service(gate).report()
    assert r.code == "offline" and "without an answer per part" in r.error
    assert unsent(gate.db) == 5 and outbox.pending(gate.db)["heartbeats"] == 1
    real.server.seen.portal = False
    r = service(gate).report(heartbeat=False)
    assert r.code == "ok" and r.requests == 1 and unsent(gate.db) == 0
    assert real.db.count("heartbeat") == 1 and real.db.count("proof_of_play") == 5


def test_a_report_refused_whole_goes_as_its_parts(gate, real):
    """Central refuses the whole report (413: larger than central_max_report_mb) with
    no answer per part: the heartbeat and the rows go on their own, the batch halved
    until central takes it."""
    real.server.app.extensions["gate_reports"].max_bytes = 16 * 1024
    add_plays(gate.db, 100)
    gate.db.execute("UPDATE proof_of_play SET reason = ?", ["x" * 480])
    r = service(gate).report()
    assert r.code == "ok", r.error
    assert r.sent == {"proof_of_play": 100, "heartbeats": 1, "screenshots": 0}
    assert real.db.count("proof_of_play") == 100 and real.db.count("heartbeat") == 1
    paths = real.server.seen.paths()
    assert paths[:2] == ["report", "heartbeat"] and set(paths[2:]) == {"proof-of-play"}
    assert not gate.db["sync_rejected_play"].count
