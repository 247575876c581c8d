"""The central server over real HTTP on 127.0.0.1: gate authentication, report
intake, change notification, static repository with Range, the overview."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import urllib3

from central.fleet import overview
from central.intake import record_heartbeat
from kiosk.store import utcnow

from tests.support.media import make_image

http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=60))


def call(server, method, path, token=None, body=None, headers=None, raw=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
        raw = json.dumps(body).encode()
    return http.request(method, server.url + path, body=raw, headers=headers)


def pop_row(i, sha="a" * 64):
    return {"id": i, "face_id": 1, "media_sha256": sha, "entry_id": "c-e1", "level": "normal",
            "started_at": "2026-11-27T08:00:00+07:00", "ended_at": "2026-11-27T08:00:10+07:00",
            "outcome": "completed", "reason": None}


def test_reports_need_the_gates_own_token(central, central_server):
    token = central.gate("huu-nghi")
    other = central.gate("tan-thanh")
    path = "/api/v1/gates/huu-nghi/heartbeat"
    for bad in (None, "", "x" * 43, other):
        r = call(central_server, "POST", path, bad, {"release_version": None})
        assert r.status == 401, bad
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = call(central_server, "POST", "/api/v1/gates/nowhere/heartbeat", token, {})
    assert r.status == 401
    r = call(central_server, "POST", path, token, {"sent_at": "2026-11-27T01:00:00+00:00",
                                                   "release_version": 3, "sync": {"ok": True}})
    assert r.status == 200
    row = overview(central.db, 60)[0]
    assert row["online"] and row["release_version"] == 3 and row["sync"] == {"ok": True}


def test_the_feed_token_check_answers_in_front_of_flask(central, central_server):
    """nginx's token check before it holds a gate's long poll (GET .../feed-auth,
    central.app.FeedTokenChecks): 200 for the gate's token, the same 401 and challenge
    for a wrong token and an unknown gate, with the security headers; nothing past
    Flask's door (a stray suffix, another method) changes."""
    token = central.gate("huu-nghi")
    good = call(central_server, "GET", "/api/v1/gates/huu-nghi/feed-auth", token)
    assert good.status == 200 and good.data == b""
    assert good.headers["Cache-Control"] == "no-store"
    assert good.headers["X-Frame-Options"] == "DENY"
    # The same 401 as a refused report's (GateReports.respond(*UNAUTHORISED)), byte for
    # byte, and as Flask's own gate routes (screenshots).
    report = call(central_server, "POST", "/api/v1/gates/huu-nghi/report", "x" * 43, body={})
    screenshot = call(central_server, "POST", "/api/v1/gates/huu-nghi/screenshots/1", "x" * 43,
                      raw=b"x", headers={"Content-Type": "image/png"})
    assert report.status == 401 and report.data == b'{"error":"bad gate token"}\n'

    def answer(r, *left_out):
        return r.status, r.data, sorted((k, v) for k, v in r.headers.items() if k not in (
            "Date", "Server", "Connection", *left_out))

    assert answer(screenshot, "Vary") == answer(report)  # Flask's session says Vary: Cookie
    for gate, presented in (("huu-nghi", "x" * 43), ("huu-nghi", None), ("nowhere", token)):
        bad = call(central_server, "GET", f"/api/v1/gates/{gate}/feed-auth", presented)
        assert answer(bad) == answer(report)
        assert bad.headers["WWW-Authenticate"] == 'Bearer realm="gatecast"'
    assert call(central_server, "POST", "/api/v1/gates/huu-nghi/feed-auth", token).status == 405
    assert call(central_server, "GET", "/api/v1/gates/huu-nghi/x/feed-auth", token).status == 404


def test_a_reissued_token_stops_working_within_the_token_memorys_bound(central, central_server):
    """Good gate tokens are remembered per process (central.gate_tokens) for
    central_gate_token_cache_s: a token reissued in this process stops at once, one
    changed by another process (the CLI, another worker) once the memory expires."""
    from sqlalchemy import update

    from central import schema as t
    from central.db import transaction
    from central.fleet import reissue_token
    from central.users import hash_token

    memory = central_server.app.extensions["gate_tokens"]
    assert memory.lifetime_s == central.settings["central_gate_token_cache_s"] > 0
    clock = [1000.0]
    memory._clock = lambda: clock[0]
    old = central.gate("huu-nghi")
    beat = "/api/v1/gates/huu-nghi/heartbeat"
    assert call(central_server, "POST", beat, old, {}).status == 200
    assert memory.recall("huu-nghi", old) is not None
    # Reissued here (console, CLI in-process): forgotten at once.
    new = reissue_token(central.db, "huu-nghi")
    assert memory.recall("huu-nghi", old) is None
    assert call(central_server, "POST", beat, old, {}).status == 401
    assert call(central_server, "GET", "/api/v1/gates/huu-nghi/feed-auth", old).status == 401
    assert call(central_server, "POST", beat, new, {}).status == 200
    # Changed by another process: this one cannot know, so the old token is taken
    # for at most the memory's lifetime, and never after.
    with transaction(central.db, write=True) as conn:
        conn.execute(update(t.gate).where(t.gate.c.id == "huu-nghi").values(
            token_hash=hash_token("a-token-set-elsewhere")))
    clock[0] += memory.lifetime_s - 0.5
    assert call(central_server, "POST", beat, new, {}).status == 200
    clock[0] += 0.5
    assert call(central_server, "POST", beat, new, {}).status == 401
    assert call(central_server, "POST", beat, "a-token-set-elsewhere", {}).status == 200
    # A wrong token is never remembered, and never taken because a good one was.
    assert call(central_server, "POST", beat, "x" * 43, {}).status == 401
    assert memory.recall("huu-nghi", "x" * 43) is None


def test_the_token_memory_holds_good_tokens_only_and_only_for_its_lifetime():
    from central.gate_tokens import GoodTokens
    from central.users import hash_token

    clock = [0.0]
    memory = GoodTokens(10.0, clock=lambda: clock[0])
    gate = {"id": "huu-nghi", "token_hash": hash_token("good")}
    memory.remember("huu-nghi", gate)
    assert memory.recall("huu-nghi", "good") is gate
    assert memory.recall("huu-nghi", "bad") is None and memory.recall("huu-nghi", "") is None
    assert memory.recall("tan-thanh", "good") is None
    clock[0] = 9.99
    assert memory.recall("huu-nghi", "good") is gate
    clock[0] = 10.0
    assert memory.recall("huu-nghi", "good") is None
    assert memory.recall("huu-nghi", "good") is None  # gone, not revived
    off = GoodTokens(0.0, clock=lambda: clock[0])
    off.remember("huu-nghi", gate)
    assert off.recall("huu-nghi", "good") is None
    memory.remember("no-token", {"id": "no-token", "token_hash": None})
    assert memory.recall("no-token", "") is None


def test_malformed_reports_get_400(central, central_server):
    token = central.gate("huu-nghi")
    base = "/api/v1/gates/huu-nghi"
    assert call(central_server, "POST", f"{base}/heartbeat", token, raw=b"{not json").status == 400
    assert call(central_server, "POST", f"{base}/heartbeat", token, ["list"]).status == 400
    assert call(central_server, "POST", f"{base}/heartbeat", token,
                {"release_version": "12"}).status == 400
    r = call(central_server, "POST", f"{base}/proof-of-play", token,
             {"batch_id": "b", "rows": [{**pop_row(1), "media_sha256": "../x"}]})
    assert r.status == 400 and "media_sha256" in json.loads(r.data)["error"]
    assert central.db.count("proof_of_play") == 0


def test_proof_of_play_sent_twice_counts_once(central, central_server):
    token = central.gate("huu-nghi")
    batch = {"batch_id": str(uuid.uuid4()), "rows": [pop_row(i) for i in range(1, 51)]}
    path = "/api/v1/gates/huu-nghi/proof-of-play"
    first = json.loads(call(central_server, "POST", path, token, batch).data)
    second = json.loads(call(central_server, "POST", path, token, batch).data)
    assert first == {"received": 50, "new": 50} and second == {"received": 50, "new": 0}
    # A row that was in flight and is sent again finished is updated, not added.
    update = {"batch_id": str(uuid.uuid4()),
              "rows": [{**pop_row(50), "outcome": "preempted"}, pop_row(51)]}
    assert json.loads(call(central_server, "POST", path, token, update).data)["new"] == 1
    assert central.db.count("proof_of_play") == 51
    assert central.db.scalar(
        "SELECT outcome FROM proof_of_play WHERE row_id = 50") == "preempted"
    # Another gate's row ids are its own.
    other = central.gate("tan-thanh")
    call(central_server, "POST", "/api/v1/gates/tan-thanh/proof-of-play", other, batch)
    assert central.db.count("proof_of_play") == 101


def test_screenshots_are_checked_and_shown_in_the_overview(central, central_server, tmp_path):
    token = central.gate("huu-nghi", faces=(1, 2))
    png = make_image(tmp_path / "shot.png", size=(160, 90)).read_bytes()
    base = "/api/v1/gates/huu-nghi/screenshots"
    r = call(central_server, "POST", f"{base}/2", token, raw=png,
             headers={"Content-Type": "image/png", "X-Taken-At": "2026-11-27T08:00:00+07:00"})
    assert r.status == 200
    for face, data, ctype in ((3, png, "image/png"), (1, b"<svg onload=alert(1)>", "image/png"),
                              (1, png[:200], "image/png"), (1, png, "text/html")):
        assert call(central_server, "POST", f"{base}/{face}", token, raw=data,
                    headers={"Content-Type": ctype}).status == 400
    shots = call(central_server, "GET", "/api/v1/manage/gates", headers=central.viewer_auth)
    [gate] = json.loads(shots.data)
    assert [s["face_id"] for s in gate["screenshots"]] == [2]
    img = call(central_server, "GET", "/screenshots/huu-nghi/2.png", headers=central.viewer_auth)
    assert img.data == png and img.headers["Content-Type"] == "image/png"
    assert call(central_server, "GET", "/screenshots/huu-nghi/2.png").status == 401
    for probe in ("/screenshots/../central.db", "/screenshots/..%2F/central.db",
                  "/screenshots/..%2F..%2F/central.db", "/screenshots/%2E%2E/central.db"):
        r = call(central_server, "GET", probe, headers=central.viewer_auth)
        assert r.status in (308, 404) and b"SQLite" not in r.data, probe


def test_overview_offline_after_two_and_a_half_intervals(central):
    central.gate("huu-nghi")
    t0 = utcnow()
    record_heartbeat(central.db, "huu-nghi", {"release_version": 1}, now=t0)
    at = lambda s: overview(central.db, 60, now=t0 + timedelta(seconds=s))[0]["online"]  # noqa: E731
    assert at(0) and at(149)
    assert not at(151)
    central.gate("tan-thanh")
    assert overview(central.db, 60)[1]["online"] is False  # never heard from


def test_wait_answers_when_the_release_changes(central, central_server, tmp_path):
    token = central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [sha])
    v1 = central.publish().changed["huu-nghi"]
    path = "/api/v1/gates/huu-nghi/wait"
    # Behind already: answered at once.
    r = call(central_server, "GET", f"{path}?version=0&timeout=30", token)
    assert r.status == 200 and json.loads(r.data) == {"version": v1}
    # Up to date and nothing happens: 204 after the timeout.
    t = time.monotonic()
    r = call(central_server, "GET", f"{path}?version={v1}&timeout=1", token)
    assert r.status == 204 and time.monotonic() - t >= 0.9
    # Up to date, then a publish (from another connection, as the CLI does).
    from central.db import open_central_db
    from central.publish import publish

    def publish_soon():
        time.sleep(0.5)
        db = open_central_db(central.settings)
        central.show("huu-nghi", [sha], playlist="second", start_time="06:00", end_time="07:00")
        publish(db, central.repo)
        db.close()

    worker = threading.Thread(target=publish_soon)
    worker.start()
    r = call(central_server, "GET", f"{path}?version={v1}&timeout=60", token)
    worker.join()
    assert r.status == 200 and json.loads(r.data)["version"] > v1
    assert call(central_server, "GET", f"{path}?version=1", None).status == 401
    assert call(central_server, "GET", f"{path}?version=x", token).status == 400


def test_repository_is_served_with_range_and_cache_headers(central, central_server, tmp_path):
    central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "big.png", size=(800, 600)))
    central.show("huu-nghi", [sha])
    central.publish()
    whole = (central.state_dir / "library" / sha).read_bytes()
    url = f"/tuf/targets/media/{sha}.{sha}"
    r = call(central_server, "GET", url, headers={"Range": "bytes=100-"})
    assert r.status == 206 and r.data == whole[100:]
    assert r.headers["Content-Range"] == f"bytes 100-{len(whole) - 1}/{len(whole)}"
    assert "immutable" in r.headers["Cache-Control"]
    assert len(r.headers.getlist("Date")) == 1  # the gate checks its clock against it
    ts = call(central_server, "GET", "/tuf/metadata/timestamp.json")
    assert ts.status == 200 and ts.headers["Cache-Control"] == "no-cache"
    assert len(ts.data) < 1024
    assert call(central_server, "GET", "/tuf/metadata/99.root.json").status == 404
    for probe in ("/tuf/metadata/../../keys/timestamp.pem",
                  "/tuf/metadata/..%2F..%2Fkeys%2Ftimestamp.pem",
                  "/tuf/targets/%2E%2E/%2E%2E/keys/timestamp.pem"):
        r = call(central_server, "GET", probe)
        assert r.status in (308, 404) and b"PRIVATE KEY" not in r.data, probe


def test_a_heartbeat_commits_asynchronously_and_a_proof_of_play_does_not(central):
    """On PostgreSQL a heartbeat's transaction turns synchronous_commit off (a crash can
    lose the last fraction of a second of heartbeats), in the same round trip as its
    read of the previous status; proof of play keeps the server's setting, and so does
    a transaction holding both (a combined report). SQLite: the heartbeat is stored as
    ever."""
    from central.db import transaction
    from central.intake import record_proof_of_play, record_report

    central.gate("huu-nghi")
    pg = not central.db.is_sqlite
    for minute in (0, 1):  # a gate's first heartbeat, then one after a previous status
        with transaction(central.db, write=True) as conn:
            if pg:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
            record_heartbeat(conn, "huu-nghi", {"sent_at": f"2026-11-27T01:0{minute}:00+00:00"})
            if pg:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
    with transaction(central.db, write=True) as conn:
        if pg:
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
        record_proof_of_play(conn, "huu-nghi", {"rows": [pop_row(1)]})
        if pg:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    # A heartbeat stored with proof of play (a combined report) commits as proof of play.
    with transaction(central.db, write=True) as conn:
        if pg:
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
        answer = record_report(conn, "huu-nghi", {
            "heartbeat": {"sent_at": "2026-11-27T01:02:00+00:00"},
            "proof_of_play": {"rows": [pop_row(2)]}})
        assert answer == {"heartbeat": True, "proof_of_play": {"received": 1, "new": 1}}
        if pg:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    assert central.db.count("heartbeat") == 3 and central.db.count("proof_of_play") == 2
    assert central.db.scalar("SELECT sent_at FROM gate_status") == "2026-11-27T01:02:00+00:00"


REISSUE = ("import sys; from central.db import Store; from central.fleet import reissue_token; "
           "store = Store(sys.argv[1]); print(reissue_token(store, sys.argv[2])); store.close()")


def test_the_token_memory_reads_only_what_changed(central):
    """The server keeps every gate's token hash in memory (GoodTokens.refresh, every
    half lifetime), reading only the gates whose token version moved: a token
    reissued in ANOTHER process (a real one, as the CLI or another server) is refused
    after the next refresh, which reads that gate alone; with no refresh for a whole
    lifetime nothing is taken from memory; one reissued here while a refresh reads is
    not brought back by it, and is read again by the next."""
    import subprocess
    import sys
    from contextlib import contextmanager

    from central.fleet import add_gate, reissue_token
    from central.gate_tokens import GoodTokens
    from central.users import hash_token

    first, second = central.gate("huu-nghi"), central.gate("tan-thanh")
    clock = [0.0]
    memory = GoodTokens(10.0, clock=lambda: clock[0])
    assert memory.refresh(central.db) == 2 and memory.last_read == 2
    assert memory.recall("huu-nghi", first)["token_hash"] == hash_token(first)
    assert memory.recall("tan-thanh", second) is not None
    assert memory.recall("tan-thanh", first) is None
    clock[0] = 5.0
    assert memory.refresh(central.db) == 2 and memory.last_read == 0  # nothing changed
    url = central.db.url.render_as_string(hide_password=False)
    elsewhere = subprocess.run([sys.executable, "-c", REISSUE, url, "tan-thanh"],
                               capture_output=True, text=True, timeout=120)
    assert elsewhere.returncode == 0, elsewhere.stderr
    third = elsewhere.stdout.strip()
    assert memory.recall("tan-thanh", second) is not None  # this process cannot know yet
    clock[0] = 10.0
    assert memory.refresh(central.db) == 2 and memory.last_read == 1
    assert memory.recall("tan-thanh", second) is None
    assert memory.recall("tan-thanh", third) is not None
    assert memory.recall("huu-nghi", first) is not None
    # A gate added elsewhere is read too.
    added = add_gate(central.db, "mong-cai", "Móng Cái")
    clock[0] = 15.0
    assert memory.refresh(central.db) == 3 and memory.last_read == 1
    assert memory.recall("mong-cai", added) is not None
    clock[0] = 25.0  # not refreshed for a whole lifetime: nothing is taken from memory
    assert memory.recall("huu-nghi", first) is None
    assert memory.recall("tan-thanh", third) is None
    # A reissue landing while a refresh reads: the refresh leaves that gate out...
    real = central.db.transaction

    @contextmanager
    def read_then_reissue(*args, **kwargs):
        with real(*args, **kwargs) as conn:
            yield conn  # the refresh reads here
        central.db.transaction = real
        reissue_token(central.db, "huu-nghi")

    central.db.transaction = read_then_reissue
    try:
        clock[0] = 30.0
        assert memory.refresh(central.db) == 2
    finally:
        central.db.transaction = real
    assert memory.recall("huu-nghi", first) is None
    assert memory.recall("tan-thanh", third) is not None
    # ... and the next one reads it again.
    fourth = reissue_token(central.db, "huu-nghi")
    clock[0] = 35.0
    assert memory.refresh(central.db) == 3 and memory.last_read == 1
    assert memory.recall("huu-nghi", fourth) is not None


def test_a_token_reissued_in_another_process_stops_within_the_lifetime(central):
    """keep_fresh's thread in real time: a token reissued by another process is
    refused, and the new one taken, without any look-up in this process (the bound,
    within the lifetime, is proven on a clock in the test above)."""
    import subprocess
    import sys

    from central.gate_tokens import GoodTokens
    from tests.support.wait import wait_for

    token = central.gate("huu-nghi")
    memory, stop = GoodTokens(2.0), threading.Event()
    thread = memory.keep_fresh(central.db, stop)
    try:
        wait_for(lambda: memory.recall("huu-nghi", token) is not None, timeout=30)
        url = central.db.url.render_as_string(hide_password=False)
        elsewhere = subprocess.run([sys.executable, "-c", REISSUE, url, "huu-nghi"],
                                   capture_output=True, text=True, timeout=120)
        assert elsewhere.returncode == 0, elsewhere.stderr
        new = elsewhere.stdout.strip()
        wait_for(lambda: memory.recall("huu-nghi", token) is None, timeout=30)
        wait_for(lambda: memory.recall("huu-nghi", new) is not None, timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)
