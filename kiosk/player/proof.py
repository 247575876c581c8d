"""Proof of play: one row per item shown per face, written when the item's
first frame is up (outcome 'playing') and closed when it ends, so a crash
loses at most the item in flight. Rows a crash left open are closed at start.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.store import get_state, iso, utcnow

OUTCOMES = ("completed", "skipped", "error", "preempted")


def start(db, face_id: int, sha256: str, name: str, entry_id: str | None, level: str,
          at: datetime | None = None) -> int:
    """Open a row for an item whose first frame is on screen; returns its id."""
    cur = db.execute(
        "INSERT INTO proof_of_play (face_id, media_sha256, media_name, entry_id, level, "
        "started_at, outcome) VALUES (?, ?, ?, ?, ?, ?, 'playing')",
        [face_id, sha256, name, entry_id, level, iso(at or utcnow())],
    )
    return cur.lastrowid


def finish(db, row_id: int, outcome: str, reason: str | None = None,
           at: datetime | None = None) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown proof-of-play outcome {outcome!r}")
    db.execute(
        "UPDATE proof_of_play SET outcome = ?, reason = ?, ended_at = ? "
        "WHERE id = ? AND outcome = 'playing'",
        [outcome, reason, iso(at or utcnow()), row_id],
    )


def record(db, face_id: int, sha256: str, name: str, entry_id: str | None, level: str,
           outcome: str, reason: str, at: datetime | None = None,
           started_at: datetime | None = None) -> int:
    """A closed row for an item that never reached the screen (skipped, error):
    from when the player tried it (`started_at`) to when it gave up (`at`)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown proof-of-play outcome {outcome!r}")
    stamp = iso(at or utcnow())
    started = iso(started_at) if started_at else stamp
    cur = db.execute(
        "INSERT INTO proof_of_play (face_id, media_sha256, media_name, entry_id, level, "
        "started_at, ended_at, outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [face_id, sha256, name, entry_id, level, started, stamp, outcome, reason],
    )
    return cur.lastrowid


def close_interrupted(db) -> int:
    """Close rows a dead player left 'playing'. Their real end is unknown: we
    use the player's last heartbeat (never before the row's start)."""
    heartbeat = (get_state(db, "player") or {}).get("heartbeat_at")
    rows = db.execute("SELECT id, started_at FROM proof_of_play WHERE outcome = 'playing'").fetchall()
    for row_id, started_at in rows:
        ended = max(started_at, heartbeat) if heartbeat else started_at
        db.execute(
            "UPDATE proof_of_play SET outcome = 'error', ended_at = ?, "
            "reason = 'player stopped unexpectedly; ended at its last heartbeat or earlier' "
            "WHERE id = ?",
            [ended, row_id],
        )
    return len(rows)
