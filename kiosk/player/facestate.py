"""Actual state per face (table face_state) for the admin and the heartbeat.

The player owns the playing/next/level/error/screenshot columns; the power
plugin owns `power` and `blanked`. Each writer updates only its own columns.
"""

from __future__ import annotations

from kiosk.store import iso, utcnow

PLAYER_COLUMNS = (
    "level", "entry_id", "playing_sha256", "playing_name", "playing_kind", "since",
    "next_sha256", "next_name", "next_at", "last_error", "screenshot", "screenshot_at",
)


def update(db, face_id: int, **values) -> None:
    """Upsert some of this face's columns, leaving the others alone."""
    unknown = set(values) - set(PLAYER_COLUMNS) - {"power", "blanked"}
    if unknown:
        raise ValueError(f"not face_state columns: {sorted(unknown)}")
    values["updated_at"] = iso(utcnow())
    cols = list(values)
    db.execute(
        f"INSERT INTO face_state (face_id, {', '.join(cols)}) VALUES (?, {', '.join('?' for _ in cols)}) "
        f"ON CONFLICT(face_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in cols)}",
        [face_id, *values.values()],
    )


def get(db, face_id: int) -> dict | None:
    rows = list(db.query("SELECT * FROM face_state WHERE face_id = ?", [face_id]))
    return rows[0] if rows else None
