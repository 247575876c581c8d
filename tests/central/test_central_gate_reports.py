"""Gate reports answered in front of Flask and stored by group commit
(central/gate_reports.py), over real HTTP on both stores: requests that arrive
while a batch is being written share the next transaction, each still gets its
own answer after its own report committed, and one bad report fails only itself.
The combined report (POST report: a heartbeat and its proof of play in one
request) stores both in one transaction, and a bad part never loses the other."""

from __future__ import annotations

import json
import threading

import pytest

from central.gate_reports import PART_FAILED
from central.intake import Report, check_heartbeat, check_proof_of_play
from kiosk.store import utcnow

from tests.central.test_central_api import call, pop_row
from tests.support.wait import wait_for


class HeldWriter:
    """Holds a GroupCommit's writer inside its first transaction until released,
    so that the requests sent meanwhile queue up for the next one."""

    def __init__(self, writer):
        self.writer, self.release, self.holding = writer, threading.Event(), threading.Event()
        self.calls: list[int] = []
        real = writer._write

        def write(conn, items):
            self.calls.append(len(items))
            if len(self.calls) == 1:
                self.holding.set()
                assert self.release.wait(60)
            return real(conn, items)

        writer._write = write

    def queued(self) -> int:
        with self.writer._cond:
            return len(self.writer._queue)


def post_in_thread(server, path, token, body, answers, key):
    def run():
        r = call(server, "POST", path, token, body)
        answers[key] = (r.status, json.loads(r.data))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_proof_of_play_sent_at_once_shares_a_commit_and_counts_each_row_once(central, central_server):
    first, second = central.gate("huu-nghi"), central.gate("tan-thanh")
    held = HeldWriter(central_server.app.extensions["gate_reports"].writer)
    path = "/api/v1/gates/{}/proof-of-play"
    answers: dict[str, tuple] = {}
    threads = [post_in_thread(central_server, path.format("huu-nghi"), first,
                              {"batch_id": "a", "rows": [pop_row(i) for i in range(1, 6)]},
                              answers, "a")]
    assert held.holding.wait(60)
    batches = {"b": ("tan-thanh", second, [pop_row(i) for i in range(1, 4)]),
               # the same rows again, at the same moment (a gate re-sending)
               "c": ("tan-thanh", second, [pop_row(i) for i in range(1, 4)]),
               # A's rows while A's transaction is still open
               "d": ("huu-nghi", first, [pop_row(i) for i in range(1, 6)])}
    for n, (key, (gate, token, rows)) in enumerate(batches.items(), 1):
        threads.append(post_in_thread(central_server, path.format(gate), token,
                                      {"batch_id": key, "rows": rows}, answers, key))
        wait_for(lambda: held.queued() == n, 60, f"batch {key} queued behind the first")
    assert not answers  # nobody is answered before their report is committed
    held.release.set()
    for thread in threads:
        thread.join(60)
    assert held.calls == [1, 3]  # the three waiting requests went in one transaction
    assert answers == {"a": (200, {"received": 5, "new": 5}),
                       "b": (200, {"received": 3, "new": 3}),
                       "c": (200, {"received": 3, "new": 0}),
                       "d": (200, {"received": 5, "new": 0})}
    assert central.db.count("proof_of_play") == 8
    assert central.db.scalar("SELECT sum(plays) FROM play_day") == 8


def test_heartbeats_sent_at_once_share_a_commit_and_each_counts_from_the_one_before(
        central, central_server):
    token = central.gate("huu-nghi")
    other = central.gate("tan-thanh")
    face = {"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": "a" * 64}
    path = "/api/v1/gates/{}/heartbeat"

    def beat(minute):
        return {"sent_at": f"2026-11-27T01:{minute:02d}:00+00:00", "release_version": minute,
                "faces": [face]}

    assert call(central_server, "POST", path.format("huu-nghi"), token, beat(0)).status == 200
    held = HeldWriter(central_server.app.extensions["gate_reports"].writer)
    answers: dict[str, tuple] = {}
    threads = [post_in_thread(central_server, path.format("tan-thanh"), other, beat(0),
                              answers, "other")]
    assert held.holding.wait(60)
    threads.append(post_in_thread(central_server, path.format("huu-nghi"), token, beat(1),
                                  answers, "one"))
    wait_for(lambda: held.queued() == 1, 60, "the first heartbeat queued")
    threads.append(post_in_thread(central_server, path.format("huu-nghi"), token, beat(2),
                                  answers, "two"))
    wait_for(lambda: held.queued() == 2, 60, "the second heartbeat queued")
    held.release.set()
    for thread in threads:
        thread.join(60)
    assert held.calls == [1, 2]
    assert {k: v[0] for k, v in answers.items()} == {"other": 200, "one": 200, "two": 200}
    assert answers["two"][1] == {"ok": True, "published_version": 0}
    # The later heartbeat of the batch is the gate's status; both are in its history,
    # and the face's time runs from 01:00 to 01:02 (01:01 counted from the batch's own
    # earlier heartbeat, not from the status before the batch).
    assert central.db.scalar(
        "SELECT release_version FROM gate_status WHERE gate_id = 'huu-nghi'") == 2
    assert central.db.scalar("SELECT count(*) FROM heartbeat WHERE gate_id = 'huu-nghi'") == 3
    assert central.db.scalar(
        "SELECT sum(seconds) FROM face_time_day WHERE gate_id = 'huu-nghi' AND face_id = 1 "
        "AND state = 'shown'") == pytest.approx(120.0)


def test_a_report_that_fails_in_a_batch_fails_alone(central, central_server):
    """When a batch's transaction fails, its reports are written again one by one:
    the others are stored and answered, the bad one gets its error."""
    central.gate("huu-nghi")
    central.gate("tan-thanh")
    writer = central_server.app.extensions["gate_reports"].writer
    held = HeldWriter(writer)
    now = utcnow()
    good = check_heartbeat({"sent_at": "2026-11-27T01:00:00+00:00"})
    bad = {**good, "release_version": "not a number"}  # refused by the database's type
    if central.db.is_sqlite:  # SQLite stores any type: a missing field fails instead
        bad = {k: v for k, v in good.items() if k != "body"}
    outcomes: dict[str, object] = {}

    def submit(name, gate, beat):
        try:
            outcomes[name] = writer.submit(Report(gate, now, beat=beat))
        except Exception as e:  # the one bad report's own error
            outcomes[name] = e

    threads = [threading.Thread(target=submit, args=("first", "huu-nghi", good))]
    threads[0].start()
    assert held.holding.wait(60)
    for name, gate, beat in (("ok", "tan-thanh", good), ("bad", "huu-nghi", bad)):
        threads.append(threading.Thread(target=submit, args=(name, gate, beat)))
        threads[-1].start()
    wait_for(lambda: held.queued() == 2, 60, "two heartbeats queued")
    held.release.set()
    for thread in threads:
        thread.join(60)
    assert held.calls == [1, 2, 1, 1]  # the failed batch of two, then each on its own
    assert outcomes["first"] is None and outcomes["ok"] is None
    assert isinstance(outcomes["bad"], Exception)
    assert central.db.count("heartbeat") == 2
    assert {r["gate_id"] for r in central.db.query("SELECT gate_id FROM gate_status")} == {
        "huu-nghi", "tan-thanh"}


REPORT = "/api/v1/gates/{}/report"


def beat_at(minute: int, **more) -> dict:
    return {"sent_at": f"2026-11-27T01:{minute:02d}:00+00:00", "release_version": minute,
            "faces": [{"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": "a" * 64}],
            **more}


def test_a_report_stores_heartbeat_and_proof_of_play_in_one_transaction(central, central_server):
    token = central.gate("huu-nghi")
    other = central.gate("tan-thanh")
    writer = central_server.app.extensions["gate_reports"].writer
    rows = [pop_row(i) for i in range(1, 13)]
    report = {"heartbeat": beat_at(0), "proof_of_play": {"batch_id": "m0", "rows": rows}}
    batches = writer.batches
    r = call(central_server, "POST", REPORT.format("huu-nghi"), token, report)
    assert r.status == 200
    assert json.loads(r.data) == {"heartbeat": {"ok": True, "published_version": 0},
                                  "proof_of_play": {"received": 12, "new": 12}}
    assert writer.batches == batches + 1  # both parts in one transaction
    assert central.db.count("proof_of_play") == 12 and central.db.count("heartbeat") == 1
    assert central.db.scalar("SELECT sum(plays) FROM play_day") == 12
    assert central.db.scalar(
        "SELECT release_version FROM gate_status WHERE gate_id = 'huu-nghi'") == 0

    # Sent again (the gate did not hear the answer): the rows count once.
    r = call(central_server, "POST", REPORT.format("huu-nghi"), token,
             {**report, "heartbeat": beat_at(1)})
    assert json.loads(r.data)["proof_of_play"] == {"received": 12, "new": 0}
    assert central.db.count("proof_of_play") == 12 and central.db.count("heartbeat") == 2

    # Either part alone; a report, a heartbeat and a proof-of-play batch sent while a
    # batch is written share the next transaction (one writer for every kind).
    held = HeldWriter(writer)
    answers: dict[str, tuple] = {}
    threads = [post_in_thread(central_server, REPORT.format("tan-thanh"), other,
                              {"heartbeat": beat_at(2)}, answers, "beat only")]
    assert held.holding.wait(60)
    for n, (key, path, body) in enumerate((
            ("report", REPORT.format("huu-nghi"),
             {"proof_of_play": {"batch_id": "m3", "rows": [pop_row(13)]}}),
            ("old heartbeat", "/api/v1/gates/tan-thanh/heartbeat", beat_at(3)),
            ("old proof of play", "/api/v1/gates/tan-thanh/proof-of-play",
             {"batch_id": "o", "rows": [pop_row(1), pop_row(2)]})), 1):
        threads.append(post_in_thread(central_server, path, other if "tan" in path else token,
                                      body, answers, key))
        wait_for(lambda: held.queued() == n, 60, f"{key} queued behind the first")
    held.release.set()
    for thread in threads:
        thread.join(60)
    assert held.calls == [1, 3]
    assert answers == {
        "beat only": (200, {"heartbeat": {"ok": True, "published_version": 0}}),
        "report": (200, {"proof_of_play": {"received": 1, "new": 1}}),
        "old heartbeat": (200, {"ok": True, "published_version": 0}),
        "old proof of play": (200, {"received": 2, "new": 2})}
    assert central.db.count("proof_of_play") == 15 and central.db.count("heartbeat") == 4


def test_a_refused_part_of_a_report_never_loses_the_other(central, central_server):
    token = central.gate("huu-nghi")
    path = REPORT.format("huu-nghi")
    bad_row = {**pop_row(2), "media_sha256": "../x"}

    r = call(central_server, "POST", path, token, {
        "heartbeat": beat_at(0), "proof_of_play": {"batch_id": "a", "rows": [pop_row(1), bad_row]}})
    assert r.status == 200
    answer = json.loads(r.data)
    assert answer["heartbeat"] == {"ok": True, "published_version": 0}
    # Said as POST proof-of-play says it, in the part's place.
    assert answer["proof_of_play"]["status"] == 400
    assert "row 1" in answer["proof_of_play"]["error"]
    assert "media_sha256" in answer["proof_of_play"]["error"]
    assert central.db.count("heartbeat") == 1 and central.db.count("proof_of_play") == 0

    r = call(central_server, "POST", path, token, {
        "heartbeat": beat_at(1, release_version="12"),
        "proof_of_play": {"batch_id": "b", "rows": [pop_row(1)]}})
    assert r.status == 200
    answer = json.loads(r.data)
    assert answer == {"heartbeat": {"error": "release_version must be an integer or null",
                                    "status": 400},
                      "proof_of_play": {"received": 1, "new": 1}}
    assert central.db.count("heartbeat") == 1 and central.db.count("proof_of_play") == 1

    # Nothing stored: 400, each refused part still said in its place.
    r = call(central_server, "POST", path, token, {
        "heartbeat": ["list"], "proof_of_play": {"batch_id": "c", "rows": [bad_row]}})
    assert r.status == 400
    answer = json.loads(r.data)
    assert answer["heartbeat"] == {"error": "a heartbeat is a JSON object", "status": 400}
    assert answer["proof_of_play"]["status"] == 400
    assert "a heartbeat is a JSON object" in answer["error"]
    for body, said in ((["list"], "a report is a JSON object"),
                       ({"heartbeat": None}, "a report carries a heartbeat"),
                       ({}, "a report carries a heartbeat")):
        r = call(central_server, "POST", path, token, body)
        assert r.status == 400 and said in json.loads(r.data)["error"], body
    assert call(central_server, "POST", path, token, raw=b"{not json").status == 400
    assert call(central_server, "GET", path, token).status == 405  # Flask's own route
    r = call(central_server, "POST", path, central.gate("tan-thanh"), {"heartbeat": beat_at(2)})
    assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert central.db.count("heartbeat") == 1 and central.db.count("proof_of_play") == 1


def refuse_heartbeats_at_59(writer) -> None:
    """Make `writer`'s transactions fail whenever they hold a heartbeat sent at 01:59."""
    real = writer._write

    def write(conn, batch):
        if any(r.beat and r.beat["sent_at"].endswith("01:59:00+00:00") for r in batch):
            raise RuntimeError("refused by the database")
        return real(conn, batch)

    writer._write = write


def test_a_report_the_database_refuses_is_stored_part_by_part(central, central_server):
    """A combined report whose transaction fails is written again one part at a time:
    the part the database takes is stored and acknowledged, the other is answered
    500 in its place (the gate sends it again)."""
    token = central.gate("huu-nghi")
    reports = central_server.app.extensions["gate_reports"]
    refuse_heartbeats_at_59(reports.writer)
    r = call(central_server, "POST", REPORT.format("huu-nghi"), token, {
        "heartbeat": beat_at(59), "proof_of_play": {"batch_id": "a", "rows": [pop_row(1)]}})
    assert r.status == 200
    assert json.loads(r.data) == {
        "heartbeat": {"error": "central could not store the report; send it again later",
                      "status": 500},
        "proof_of_play": {"received": 1, "new": 1}}
    assert central.db.count("heartbeat") == 0 and central.db.count("proof_of_play") == 1
    # Nothing could be stored: 500, the gate keeps everything and sends it again.
    r = call(central_server, "POST", REPORT.format("huu-nghi"), token, {"heartbeat": beat_at(59)})
    assert r.status == 500 and json.loads(r.data)["heartbeat"]["status"] == 500
    # In the writer itself: the part results of a report written part by part.
    now = utcnow()
    _, rows = check_proof_of_play("huu-nghi", {"rows": [pop_row(2)]}, now)
    result = reports.writer.submit(Report("huu-nghi", now, beat=check_heartbeat(beat_at(59)),
                                          plays=rows))
    assert result == {"heartbeat": PART_FAILED, "proof_of_play": 1}
    assert central.db.count("proof_of_play") == 2
