"""The gate keeps proof of play central acknowledged for sync_play_retention_days,
then deletes it; rows central does not have are never deleted."""

from __future__ import annotations

from datetime import timedelta

from kiosk.store import iso, utcnow
from kiosk.sync import outbox

from tests.sync.test_sync_reports import add_plays, dead_url, service


def test_the_gate_prunes_acknowledged_rows_after_the_retention_only(gate):
    add_plays(gate.db, 10)
    now = utcnow()
    old, recent = iso(now - timedelta(days=40)), iso(now - timedelta(days=2))
    gate.db.execute("UPDATE proof_of_play SET sent_at = ? WHERE id <= 4", [old])
    gate.db.execute("UPDATE proof_of_play SET sent_at = ? WHERE id IN (5, 6)", [recent])
    # 7..9 never reached central (link down); 10, the newest, was sent long ago.
    gate.db.execute("UPDATE proof_of_play SET sent_at = ? WHERE id = 10", [old])

    r = service(gate, central_url=dead_url(), sync_play_retention_days=30.0).report()
    assert r.code == "offline"
    ids = [row[0] for row in gate.db.execute("SELECT id FROM proof_of_play ORDER BY id")]
    # The newest row stays so SQLite never hands its id out again.
    assert ids == [5, 6, 7, 8, 9, 10]
    gate.db["proof_of_play"].insert({"face_id": 1, "media_sha256": "a" * 64,
                                     "started_at": iso(now), "outcome": "completed"})
    assert max(row[0] for row in gate.db.execute("SELECT id FROM proof_of_play")) == 11

    # Unsent rows are never pruned, however old; 0 keeps everything.
    gate.db.execute("UPDATE proof_of_play SET started_at = ? WHERE sent_at IS NULL", [old])
    assert outbox.prune_sent_plays(gate.db, now + timedelta(days=1)) == 3
    assert [row[0] for row in gate.db.execute(
        "SELECT id FROM proof_of_play ORDER BY id")] == [7, 8, 9, 11]
    gate.db.execute("UPDATE proof_of_play SET sent_at = ? WHERE id = 7", [old])
    service(gate, central_url=dead_url(), sync_play_retention_days=0.0).report()
    assert gate.db.execute("SELECT count(*) FROM proof_of_play").fetchone()[0] == 4
