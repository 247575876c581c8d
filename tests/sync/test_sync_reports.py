"""The upstream queue and the report API: heartbeats, proof of play and screenshots
wait in SQLite through outages and restarts, go in batches when the link is up,
and the bounds drop screenshots first and proof of play never.

The double here is a central from before the combined report (it answers `POST
report` 404): the gate sends heartbeats and proof of play as two requests, as it
did before. The combined report against a real central: test_sync_report_central.py."""

from __future__ import annotations

import os
import re
import socket

import urllib3

from kiosk.settings import load_settings
from kiosk.store import open_db
from kiosk.sync import loop, outbox
from kiosk.sync.fetcher import ResumingFetcher
from kiosk.sync.link import Link
from kiosk.sync.loop import SyncService
from kiosk.sync.report import PLAY_BATCH, Reporter

from tests.support.sync.gate import GATE_ID
from tests.support.sync.tufrepo import publish_release


def dead_url() -> str:
    """A loopback port nothing listens on: the link is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def service(gate, **overrides) -> SyncService:
    settings = load_settings(config_file=gate.config_file, state_dir=gate.state_dir, env={},
                             overrides=overrides)
    return SyncService(settings, gate.db)


def add_plays(db, n, start_id=1):
    db["proof_of_play"].insert_all(
        {"id": i, "face_id": 1 + i % 2, "media_sha256": "a" * 64, "entry_id": "c-e1",
         "level": "normal", "started_at": f"2026-11-27T08:{i % 60:02d}:00+07:00",
         "ended_at": f"2026-11-27T08:{i % 60:02d}:10+07:00", "outcome": "completed"}
        for i in range(start_id, start_id + n))


def unsent(db) -> int:
    return db.execute("SELECT count(*) FROM proof_of_play WHERE sent_at IS NULL").fetchone()[0]


def test_reports_wait_offline_survive_a_restart_and_arrive_in_order(gate, central):
    add_plays(gate.db, 1200)
    offline = service(gate, central_url=dead_url())
    for _ in range(3):
        r = offline.report()
        assert r.code == "offline"
    assert outbox.pending(gate.db)["heartbeats"] == 3 and unsent(gate.db) == 1200
    assert gate.sync_state()["upstream"]["status"] == "offline"

    # The gate restarts (a new connection to the same file), and the link comes back.
    gate.db.close()
    gate.db = open_db(gate.settings.db_path)
    r = service(gate).report()

    assert r.code == "ok", r.error
    assert r.sent == {"proof_of_play": 1200, "heartbeats": 4, "screenshots": 0}
    assert len(central.plays) == 1200 and unsent(gate.db) == 0
    assert len(central.batches) == -(-1200 // PLAY_BATCH)
    sent_at = [hb["sent_at"] for hb in central.heartbeats]
    assert sent_at == sorted(sent_at) and len(sent_at) == 4
    assert outbox.pending(gate.db) == {"heartbeats": 0, "screenshots": 0, "proof_of_play": 0, "bytes": 0}


def test_a_central_without_the_combined_report_gets_two_requests(gate, central, monkeypatch):
    add_plays(gate.db, 5)
    svc = service(gate)
    r = svc.report()
    assert r.code == "ok" and r.sent == {"proof_of_play": 5, "heartbeats": 1, "screenshots": 0}
    api = [p.rsplit("/", 1)[-1] for p in central.paths() if p.startswith("/api/")]
    assert api == ["report", "proof-of-play", "heartbeat"]
    # It does not ask again for an hour (loop.SEPARATE_REPORTS_S).
    add_plays(gate.db, 1, start_id=6)
    r = svc.report()
    api = [p.rsplit("/", 1)[-1] for p in central.paths() if p.startswith("/api/")]
    assert r.code == "ok" and api[3:] == ["proof-of-play", "heartbeat"]
    assert len(central.plays) == 6 and len(central.heartbeats) == 2
    # After the hour it asks again (an upgraded central gets one request a minute).
    monkeypatch.setattr(loop, "SEPARATE_REPORTS_S", 0)
    r = svc.report()
    api = [p.rsplit("/", 1)[-1] for p in central.paths() if p.startswith("/api/")]
    assert r.code == "ok" and api[5:] == ["report", "heartbeat"] and len(central.heartbeats) == 3


def test_server_errors_keep_everything_queued(gate, central):
    add_plays(gate.db, 10)
    central.fail_next["/api/v1/gates/"] = 1
    r = service(gate).report()
    assert r.code == "offline" and "500" in r.error
    assert unsent(gate.db) == 10 and outbox.pending(gate.db)["heartbeats"] == 1
    r = service(gate).report()
    assert r.code == "ok" and len(central.plays) == 10 and len(central.heartbeats) == 2


def test_a_malformed_play_row_is_set_aside_not_lost(gate, central):
    add_plays(gate.db, 40)
    central.reject_play_ids.add(17)
    r = service(gate).report()
    assert r.code == "ok"
    assert len(central.plays) == 39 and (GATE_ID, 17) not in central.plays
    assert gate.db["sync_rejected_play"].get(17)["status"] == 422
    # The row itself stays in the gate's database.
    assert gate.db["proof_of_play"].get(17)["sent_at"] is None
    assert [e["code"] for e in gate.events("play_")] == ["play_rejected"]


def test_heartbeat_says_what_plays_and_why_sync_fails(gate, repo, central):
    publish_release(repo, 1, [b"abc" * 100])
    assert gate.pull().outcome == "activated"
    gate.db["face_state"].insert({"face_id": 1, "power": "on", "playing_name": "item 0"})
    repo.targets_dir.joinpath("media").mkdir(exist_ok=True)
    sha = publish_release(repo, 2, [b"def" * 100])[0]
    central.overrides[f"/tuf/targets/media/{sha}.{sha}"] = b"tampered"
    assert gate.pull().code == "tampered"

    service(gate).report()

    hb = central.heartbeats[-1]
    assert hb["release_version"] == 2 and hb["last_good_release_version"] == 1
    assert hb["sync"]["code"] == "tampered" and "signed metadata" in hb["sync"]["reason"]
    assert hb["faces"][0]["playing_name"] == "item 0"
    assert any(e["code"] == "sync_tampered" for e in hb["errors"])
    # Errors are reported once, not in every heartbeat.
    service(gate).report()
    assert not any(e["code"] == "sync_tampered" for e in central.heartbeats[-1]["errors"])


def test_screenshots_are_copied_queued_and_sent(gate, central):
    shots = gate.state_dir / "screenshots"
    shots.mkdir()
    (shots / "face-1.png").write_bytes(b"\x89PNG first")
    svc = service(gate, sync_screenshot_interval_s=0.001)
    outbox.enqueue_screenshots(gate.db, gate.state_dir)
    # The player overwrites its file; the queued copy keeps the first picture.
    (shots / "face-1.png").write_bytes(b"\x89PNG second")
    svc.report(heartbeat=False)
    got = [(face, body) for _, face, _, body in central.screenshots]
    assert got == [(1, b"\x89PNG first"), (1, b"\x89PNG second")]
    assert all(taken for _, _, taken, _ in central.screenshots)
    assert not list((gate.state_dir / "outbox").iterdir())


def test_bounds_drop_oldest_screenshots_first_and_never_proof_of_play(gate):
    add_plays(gate.db, 300)
    shots = gate.state_dir / "screenshots"
    shots.mkdir()
    for i in range(5):
        (shots / "face-1.png").write_bytes(b"png %d" % i + b"." * 1000)
        os.utime(shots / "face-1.png", ns=(10**18 + i, 10**18 + i))
        outbox.enqueue_screenshots(gate.db, gate.state_dir)
    for _ in range(4):
        outbox.enqueue_heartbeat(gate.db, GATE_ID)
    first_shots = [r["id"] for r in gate.db.query(
        "SELECT id FROM sync_outbox WHERE kind = 'screenshot' ORDER BY id")]

    dropped = outbox.enforce_bounds(gate.db, gate.state_dir, max_items=6, max_bytes=10**9)

    assert dropped == {"screenshot": 3, "heartbeat": 0}
    left = [r["id"] for r in gate.db.query("SELECT id FROM sync_outbox WHERE kind = 'screenshot'")]
    assert left == first_shots[3:]
    assert len(list((gate.state_dir / "outbox").iterdir())) == 2
    dropped = outbox.enforce_bounds(gate.db, gate.state_dir, max_items=1, max_bytes=10**9)
    assert dropped == {"screenshot": 2, "heartbeat": 3}
    assert unsent(gate.db) == 300
    assert gate.events("queue_dropped")


def test_tidy_removes_orphans_after_a_crash(gate):
    out = outbox.outbox_dir(gate.state_dir)
    (out / "shot-1-1.png.tmp").write_bytes(b"half")
    gate.db["sync_outbox"].insert({"kind": "screenshot", "created_at": "2026-11-27T00:00:00+00:00",
                                   "face_id": 1, "path": "gone.png", "size": 10})
    outbox.tidy(gate.db, gate.state_dir)
    assert not list(out.iterdir()) and outbox.pending(gate.db)["screenshots"] == 0


def test_cli_once_and_status(gate, repo, runner):
    from kiosk.cli import main

    publish_release(repo, 1, [b"cli" * 10])
    args = ["--state", str(gate.state_dir), "--config", str(gate.config_file)]
    result = runner.invoke(main, ["sync", "--once", *args])
    assert result.exit_code == 0, result.output
    # In the gate's language (Vietnamese unless set), as the admin's dashboard says it.
    pulled, reported = result.output.splitlines()
    assert re.fullmatch(r"Tải về: đã cập nhật \(vừa kích hoạt bản phát hành mới\); màn hình đang "
                        r"chiếu bản phát hành 1; \d+ yêu cầu, \d+ byte", pulled), pulled
    assert reported == "Báo cáo: đã gửi", reported
    result = runner.invoke(main, ["sync", "--status", "--json", *args])
    assert '"last_good_release_version": 1' in result.output
    result = runner.invoke(main, ["sync", "--once", *args], env={"GATECAST_LANGUAGE": "en"})
    assert result.output.startswith("Pull: up to date; release 1 on the screens; 2 request(s), ")
    assert "Reports: sent" in result.output


def test_cli_once_fails_with_the_reason(gate, repo, central, runner):
    from kiosk.cli import main

    sha = publish_release(repo, 1, [b"cli" * 10])[0]
    central.overrides[f"/tuf/targets/media/{sha}.{sha}"] = b"bad"
    result = runner.invoke(main, ["sync", "--once", "--state", str(gate.state_dir),
                                  "--config", str(gate.config_file)])
    assert result.exit_code == 1 and ("thất bại: dữ liệu tải về không khớp với chữ ký của máy chủ "
                                      "trung tâm") in result.output, result.output


def test_cli_refuses_an_unknown_clock_policy(gate, runner):
    from kiosk.cli import main

    result = runner.invoke(main, ["sync", "--once", "--state", str(gate.state_dir),
                                  "--config", str(gate.config_file)],
                           env={"GATECAST_SYNC_CLOCK": "sometimes"})
    assert result.exit_code == 1 and ("sync_clock phải là 'ntp', 'always' hoặc 'never', không phải "
                                      "'sometimes'") in result.output, result.output
    result = runner.invoke(main, ["sync", "--once", "--state", str(gate.state_dir),
                                  "--config", str(gate.config_file)],
                           env={"GATECAST_SYNC_CLOCK": "sometimes", "GATECAST_LANGUAGE": "en"})
    assert "sync_clock must be 'ntp', 'always' or 'never', not 'sometimes'" in result.output


def test_cli_refuses_a_second_sync_in_vietnamese(gate, runner):
    from kiosk.cli import main
    from kiosk.sync.loop import SyncService

    first = SyncService(gate.settings, gate.db)
    first.lock()
    try:
        result = runner.invoke(main, ["sync", "--once", "--state", str(gate.state_dir),
                                      "--config", str(gate.config_file)])
    finally:
        first.unlock()
        first.close()
    assert result.exit_code == 1 and (
        f"một tiến trình gatecast sync khác đang dùng {gate.state_dir}") in result.output, result.output


def test_every_sync_command_string_is_translated():
    import subprocess
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parents[2] / "scripts" / "admin_catalogues.py"
    r = subprocess.run([sys.executable, str(tool), "--check", "--area", "sync"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_reports_and_pulls_share_the_link_they_are_given(tmp_path):
    """Link.of: the sync process's kept Link is used as it is; a PoolManager made
    elsewhere (a test's, trusting its own CA) is wrapped in a Link of its own."""
    kept, manager = Link(), urllib3.PoolManager()
    reporter = Reporter("http://127.0.0.1:1", GATE_ID, "t", pool=kept)
    fetcher = ResumingFetcher(tmp_path / "partial", pool=kept)
    assert reporter.link is kept and fetcher.link is kept
    wrapped = Reporter("http://127.0.0.1:1", GATE_ID, "t", pool=manager).link
    assert isinstance(wrapped, Link) and wrapped.pool is manager
    assert isinstance(Reporter("http://127.0.0.1:1", GATE_ID, "t").link, Link)
    kept.close()
    wrapped.close()
