"""What the dashboard shows: every face (power, what plays now and next, level,
errors, screenshot), the controller's health and the sync state. Reads only."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from admin.services.logs import HEALTH_CODES
from kiosk.power.service import power_status
from kiosk.schedule import evaluate, load_schedule
from kiosk.settings import faces as configured_faces
from kiosk.store import get_state, iso, utcnow
from kiosk.text.notices import NOTICE_PREFIX

_SCREENSHOT_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}\.(png|jpg|jpeg)$")


def screenshot_path(settings, db, face_id: int) -> Path | None:
    """The face's latest screenshot file, named by the player in face_state
    (a bare file name under screenshots/), else face-<id>.png."""
    row = db.execute("SELECT screenshot FROM face_state WHERE face_id = ?", [face_id]).fetchone()
    names = [row[0]] if row and row[0] else []
    names.append(f"face-{face_id}.png")
    for name in names:
        if _SCREENSHOT_RE.match(name) and ".." not in name:
            path = settings.screenshot_dir / name
            if path.is_file():
                return path
    return None


def status(db, settings, now: datetime | None = None) -> dict:
    now = now or utcnow()
    tz = ZoneInfo(settings["timezone"])
    power = power_status(db, settings, now=now)
    power_by_face = {f["id"]: f for f in power["faces"]}
    actual = {r["face_id"]: r for r in db.query("SELECT * FROM face_state")}
    schedule = load_schedule(db, float(settings["image_duration_s"]))
    names = {r["id"]: r["name"] for r in db.query("SELECT id, name FROM schedule_entry")}
    notice_names = _notice_names(db)
    faces = []
    for f in configured_faces(settings):
        fid = f["id"]
        a = actual.get(fid) or {}
        plan = evaluate(schedule, fid, now, tz)
        shot = screenshot_path(settings, db, fid)
        p = power_by_face.get(fid, {})
        power_now = a.get("power") or p.get("power") or "unknown"
        blanked = bool(a.get("blanked"))
        # A face that is switched off or blanked shows nothing, whatever its
        # schedule says: say so once instead of "nothing" beside the schedule.
        dark = "blanked" if blanked else ("off" if power_now == "off" or p.get("want") == "off" else None)
        entry_id = a.get("entry_id")
        faces.append({
            "id": fid,
            "name": f.get("name") or f"Face {fid}",
            "output": f.get("output"),
            "power": power_now,
            "power_want": p.get("want"),
            "power_source": p.get("source"),
            "power_until": p.get("until"),
            "blanked": blanked,
            "dark": dark,
            "level": dark or a.get("level") or plan.level,
            "entry_id": entry_id,
            "playing": {"sha256": a.get("playing_sha256"),
                        "name": _item_name(a.get("playing_name"), notice_names),
                        "kind": a.get("playing_kind"), "since": a.get("since")},
            "next": {"sha256": a.get("next_sha256"),
                     "name": _item_name(a.get("next_name"), notice_names),
                     "at": a.get("next_at")},
            "planned": {"level": plan.level,
                        "entries": [{"id": e, "name": notice_names.get(e) or names.get(e) or e}
                                    for e in plan.entry_ids],
                        "items": [i.name or i.media_sha256[:12] for i in plan.items][:10],
                        "next_change": iso(plan.next_change)},
            "last_error": a.get("last_error"),
            "last_error_event": _last_error_event(db, fid) if a.get("last_error") else None,
            "updated_at": a.get("updated_at"),
            "screenshot_at": a.get("screenshot_at") if shot else None,
            "screenshot_version": int(shot.stat().st_mtime_ns // 1_000_000) if shot else None,
        })
    release = get_state(db, "release")
    sync = get_state(db, "sync") or {}
    since = iso(now - timedelta(hours=24))
    errors = [dict(r, detail=json.loads(r["detail"] or "{}"),
                   source="health" if r["code"] in HEALTH_CODES else r["source"]) for r in db.query(
        "SELECT * FROM event WHERE level IN ('error', 'warning') AND at >= ? "
        "ORDER BY id DESC LIMIT 10", [since])]
    return {
        "now": now.astimezone(tz).isoformat(timespec="seconds"),
        "gate": {"id": settings["gate_id"], "name": settings["gate_name"],
                 "timezone": settings["timezone"]},
        "blank": power["blank"],
        "faces": faces,
        "health": get_state(db, "health") or {},
        "health_at": _state_time(db, "health"),
        "player_alive": _player_alive(db, now),
        "sync": sync,
        "release": release,
        # kiosk.sync.status: a failed pull leaves the screens on the release
        # that last verified, and the admin must say so plainly.
        "last_known_good": sync.get("status") == "failed",
        "errors": errors,
    }


def _last_error_event(db, face_id: int) -> dict | None:
    """The event behind face_state.last_error (the player writes both): its
    code and parameters let the admin say it in the reader's language."""
    row = db.execute("SELECT code, detail, message, at FROM event WHERE face_id = ? AND level = 'error' "
                     "ORDER BY id DESC LIMIT 1", [face_id]).fetchone()
    if row is None:
        return None
    try:
        detail = json.loads(row[1] or "{}")
    except ValueError:
        detail = {}
    return {"code": row[0], "detail": detail, "message": row[2], "at": row[3]}


def _item_name(name: str | None, notice_names: dict[str, str]) -> str | None:
    # The player names a notice slide "notice <id>" (kiosk/text/notices.py).
    if name and name.startswith("notice "):
        return notice_names.get(NOTICE_PREFIX + name[7:], name)
    return name


def _notice_names(db) -> dict[str, str]:
    """Schedule-entry id of each slide notice -> its text, so that the dashboard
    names what the face shows rather than an internal id."""
    if "notice" not in db.table_names():
        return {}
    out = {}
    for row in db.query("SELECT id, texts FROM notice"):
        try:
            texts = json.loads(row["texts"] or "{}")
        except ValueError:
            texts = {}
        text = texts.get("vi") or next(iter(texts.values()), "") or row["id"]
        text = " ".join(str(text).split())
        out[NOTICE_PREFIX + str(row["id"])] = text if len(text) <= 80 else text[:79] + "…"
    return out


def _state_time(db, key: str) -> str | None:
    row = db.execute("SELECT updated_at FROM state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _player_alive(db, now: datetime) -> bool:
    """The player writes a heartbeat (state key `player`) every few seconds and
    updates face_state as it plays; silence for a minute means it is down."""
    player = get_state(db, "player") or {}
    stamps = [player.get("heartbeat_at") if player.get("running", True) else None]
    stamps.append(db.execute("SELECT MAX(updated_at) FROM face_state").fetchone()[0])
    for stamp in stamps:
        try:
            if stamp and (now - datetime.fromisoformat(stamp)).total_seconds() < 60:
                return True
        except ValueError:
            continue
    return False
