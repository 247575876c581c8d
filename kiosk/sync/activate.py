"""Activating a release: one SQLite transaction swaps every central row.

The player never sees half a release: all `source = 'central'` rows of media,
playlist, playlist_item, schedule_entry, face_fallback, power_window and notice are
replaced inside one `BEGIN IMMEDIATE ... COMMIT`, together with the `release` state
key. The revision triggers fire inside it, so the player picks the new release up on
its next poll (within a second) and only after the commit.

Central's kill switch (the release's `blank` field, central/killswitch.py) is
taken up in the same transaction into the `central_blank` row, and the event log
says who at central blanked or released the faces and why. It is separate from
the technician's `blank` row: neither releases the other.

Local rows stay as they are (a face's local fallback playlist wins over the
release's). A local schedule entry or fallback may name a central
playlist; such a playlist is kept (with its items and media) when a release drops
it, rather than breaking the technician's schedule, and a warning says so.
"""

from __future__ import annotations

import json
from typing import Any

from kiosk import schedule_entry
from kiosk.store import get_state, iso, log_event, utcnow
from kiosk.sync.release import Release

RELEASE_KEY = "release"
PREVIOUS_KEY = "release_previous"


def active_release(db) -> dict[str, Any] | None:
    """The release the screens play now (the last-known-good one), or None."""
    return get_state(db, RELEASE_KEY)


def previous_release(db) -> dict[str, Any] | None:
    return get_state(db, PREVIOUS_KEY)


def release_record(release: Release, sha256: str) -> dict[str, Any]:
    return {
        "gate_id": release.gate_id,
        "version": release.version,
        "sha256": sha256,
        "published_at": release.published_at,
        "activated_at": iso(utcnow()),
        "media": release.media_sha256s,
    }


def activate(db, release: Release, sha256: str) -> dict[str, Any]:
    """Replace the central rows with `release` in one transaction; returns its record."""
    doc = release.doc
    now = iso(utcnow())
    record = release_record(release, sha256)
    kept: list[str] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        x = db.execute
        previous = x("SELECT value FROM state WHERE key = ?", [RELEASE_KEY]).fetchone()
        # Central playlists a local entry or fallback still names survive a
        # release that drops them (see the module docstring).
        referenced = {
            r[0]
            for r in x(
                "SELECT playlist_id FROM schedule_entry WHERE source != 'central' "
                "UNION SELECT playlist_id FROM face_fallback WHERE source != 'central'"
            ).fetchall()
        }
        new_playlists = {p["id"] for p in doc.get("playlists", [])}
        schedule_entry.delete_from(db, "central")
        x("DELETE FROM face_fallback WHERE source = 'central'")
        x("DELETE FROM power_window WHERE source = 'central'")
        x("DELETE FROM notice WHERE source = 'central'")
        for (pid,) in x("SELECT id FROM playlist WHERE source = 'central'").fetchall():
            if pid in referenced and pid not in new_playlists:
                kept.append(pid)
                continue
            x("DELETE FROM playlist_item WHERE playlist_id = ?", [pid])
            x("DELETE FROM playlist WHERE id = ?", [pid])
        new_media = set(release.media_sha256s)
        for (sha,) in x("SELECT sha256 FROM media WHERE source = 'central'").fetchall():
            still_used = x(
                "SELECT 1 FROM playlist_item WHERE media_sha256 = ? LIMIT 1", [sha]
            ).fetchone()
            if sha not in new_media and not still_used:
                x("DELETE FROM media WHERE sha256 = ?", [sha])

        for m in doc.get("media", []):
            # A local row with the same bytes stays local (the technician owns it).
            x(
                "INSERT INTO media (sha256, kind, name, format, size, duration_s, width, height, "
                "source, approved, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'central', 1, ?) "
                "ON CONFLICT(sha256) DO UPDATE SET kind = excluded.kind, name = excluded.name, "
                "size = excluded.size, duration_s = excluded.duration_s, width = excluded.width, "
                "height = excluded.height WHERE media.source = 'central'",
                [m["sha256"], m["kind"], m["name"], m.get("format"), m["size"],
                 m.get("duration_s"), m.get("width"), m.get("height"), now],
            )
        for p in doc.get("playlists", []):
            x(
                "INSERT INTO playlist (id, name, source, created_at) VALUES (?, ?, 'central', ?) "
                "ON CONFLICT(id) DO UPDATE SET name = excluded.name",
                [p["id"], p["name"], now],
            )
            x("DELETE FROM playlist_item WHERE playlist_id = ?", [p["id"]])
            for pos, item in enumerate(p.get("items", [])):
                x(
                    "INSERT INTO playlist_item (playlist_id, position, media_sha256, duration_s) "
                    "VALUES (?, ?, ?, ?)",
                    [p["id"], pos, item["media_sha256"], item.get("duration_s")],
                )
        for e in doc.get("schedule_entries", []):
            schedule_entry.insert_released(db, e, now)
        for f in doc.get("fallbacks", []):
            # A face has one fallback slot; a technician's local choice keeps it
            # (deleting it in the admin lets the release's take over next time).
            x(
                "INSERT INTO face_fallback (face_id, playlist_id, source) VALUES (?, ?, 'central') "
                "ON CONFLICT(face_id) DO NOTHING",
                [f["face_id"], f["playlist_id"]],
            )
        for w in doc.get("power_windows", []):
            x(
                "INSERT INTO power_window (face_id, weekdays, start_time, end_time, source) "
                "VALUES (?, ?, ?, ?, 'central')",
                [w["face_id"],
                 json.dumps(w.get("weekdays") if w.get("weekdays") is not None else list(range(7))),
                 w["start_time"], w["end_time"]],
            )
        for n in doc.get("notices", []):
            x(
                "INSERT INTO notice (id, kind, level, texts, faces, style, starts_at, expires_at, "
                "created_at, created_by, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'central', 'central')",
                [n["id"], n["kind"], n["level"], json.dumps(n["texts"], ensure_ascii=False),
                 json.dumps(n.get("faces", [])), json.dumps(n.get("style", {}), ensure_ascii=False),
                 n.get("starts_at"), n.get("expires_at"), now],
            )
        blank_event = _take_up_blank(x, doc.get("blank"), release.version)
        upsert = (
            "INSERT INTO state(key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
        )
        if previous is not None:
            x(upsert, [PREVIOUS_KEY, previous[0], now])
        x(upsert, [RELEASE_KEY, json.dumps(record), now])
        x("COMMIT")
    except BaseException:
        x("ROLLBACK")
        raise
    if blank_event and blank_event[0] == "on":
        log_event(db, "sync", "warning", "central_blank_on", blank_event[1], detail=blank_event[2])
    elif blank_event:
        log_event(db, "sync", "warning", "central_blank_off", blank_event[1], detail=blank_event[2])
    if kept:
        log_event(
            db, "sync", "warning", "central_playlist_kept",
            f"release {release.version} dropped playlist(s) {', '.join(kept)}, "
            "but local schedule entries still use them; they keep their last content",
            detail={"playlists": kept, "version": release.version},
        )
    return record


def _take_up_blank(x, blank: dict | None, version: int) -> tuple | None:
    """Write the release's kill switch into `central_blank`; the event to log
    ("on" or "off", English sentence, detail) when it changed, else None. A release
    without the field (central never blanked this gate) releases nothing by
    whom: the row just stays inactive."""
    old = x("SELECT active, faces, by, reason FROM central_blank WHERE id = 1").fetchone()
    was_active = bool(old and old[0])
    active = bool(blank and blank["active"])
    faces = sorted(blank.get("faces", [])) if active else []
    if active:
        if was_active and (json.loads(old[1] or "[]"), old[2], old[3]) == (
                faces, blank["by"], blank["reason"]):
            return None
        x("UPDATE central_blank SET active = 1, faces = ?, by = ?, reason = ?, since = ?, "
          "version = ? WHERE id = 1",
          [json.dumps(faces), blank["by"], blank["reason"], blank["at"], version])
        which = ", ".join(f"face {f}" for f in faces) or "every face"
        return ("on", f"central ({blank['by']}) blanked {which}: {blank['reason']}",
                {"by": blank["by"], "reason": blank["reason"], "faces": faces,
                 "since": blank["at"], "version": version})
    if not was_active:
        return None
    by = blank["by"] if blank else "central"
    reason = blank["reason"] if blank else ""
    x("UPDATE central_blank SET active = 0, faces = '[]', by = ?, reason = ?, since = ?, "
      "version = ? WHERE id = 1", [by, reason, blank["at"] if blank else None, version])
    return ("off", f"central ({by}) released its kill switch: {reason}",
            {"by": by, "reason": reason, "blanked_by": old[2], "version": version})
