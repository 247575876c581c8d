"""The upstream queue: heartbeats and screenshots waiting in SQLite for the link.

Heartbeats are built when due (so central later sees the gate's history through an
outage) and stored whole; screenshots are copied out of `<state>/screenshots/`
(which the player overwrites) into `<state>/outbox/`. Proof of play is not copied:
its unsent rows in `proof_of_play` are the queue. The queue is bounded by items and
bytes; when over, the oldest screenshots go first, then the oldest heartbeats, and
proof of play never.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kiosk.store import get_state, iso, log_event, set_state, utcnow
from kiosk.sync.activate import active_release

MARKS_KEY = "sync_marks"  # last reported event id, last queued screenshot per face
SCREENSHOT_RE = re.compile(r"^face-(\d+)\.(png|jpg|jpeg)$")
MAX_ERRORS_PER_HEARTBEAT = 50


def outbox_dir(state_dir: Path) -> Path:
    d = Path(state_dir) / "outbox"
    d.mkdir(parents=True, exist_ok=True)
    return d


def prune_sent_plays(db, before: datetime) -> int:
    """Delete proof-of-play rows central acknowledged before `before`; unsent rows
    are never touched. The newest row always stays: SQLite numbers a new row
    max(id) + 1, so deleting the newest would hand its id out again and central,
    which keys on (installation, id), would take the new play for the old one."""
    return db.execute(
        "DELETE FROM proof_of_play WHERE sent_at IS NOT NULL AND sent_at < ? "
        "AND id < (SELECT max(id) FROM proof_of_play)", [iso(before)]).rowcount


def build_heartbeat(db, gate_id: str) -> dict[str, Any]:
    marks = get_state(db, MARKS_KEY) or {}
    sync = get_state(db, "sync") or {}
    active = active_release(db)
    last_event = marks.get("event_id", 0)
    errors = list(db.query(
        "SELECT id, at, source, level, code, message, face_id, detail FROM event "
        "WHERE id > ? AND level IN ('warning', 'error') ORDER BY id LIMIT ?",
        [last_event, MAX_ERRORS_PER_HEARTBEAT],
    ))
    for e in errors:
        # The event's parameters: central's console says it in the reader's
        # language from code + detail, as the gate admin does (admin/events.py).
        e["detail"] = _detail(e["detail"])
    newest = db.execute("SELECT max(id) FROM event").fetchone()[0] or 0
    set_state(db, MARKS_KEY, {**marks, "event_id": newest})
    faces = list(db.query("SELECT * FROM face_state ORDER BY face_id"))
    active_version = active["version"] if active else None
    offered = sync.get("offered_version")
    return {
        "sent_at": iso(utcnow()),
        "gate_id": gate_id,
        # Newest version seen at central (refused or not) and the one on the screens:
        # they differ while the gate holds on to its last-known-good release.
        "release_version": max(v for v in (offered, active_version, 0) if v is not None) or None,
        "last_good_release_version": active_version,
        "sync": {k: sync.get(k) for k in (
            "status", "code", "reason", "last_attempt_at", "last_success_at", "failing_since",
            "consecutive_failures", "offered_version", "clock", "upstream")},
        "health": get_state(db, "health") or {},
        "faces": faces,
        "errors": errors,
    }


def _detail(text: str | None) -> dict:
    try:
        detail = json.loads(text) if text else {}
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def enqueue_heartbeat(db, gate_id: str) -> int:
    body = json.dumps(build_heartbeat(db, gate_id), ensure_ascii=False, separators=(",", ":"))
    return db["sync_outbox"].insert({
        "kind": "heartbeat", "created_at": iso(utcnow()), "body": body, "size": len(body.encode()),
    }).last_pk


def enqueue_screenshots(db, state_dir: Path) -> list[int]:
    """Queue each face's screenshot if the player wrote a new one since last time."""
    shots = Path(state_dir) / "screenshots"
    if not shots.is_dir():
        return []
    marks = get_state(db, MARKS_KEY) or {}
    seen = dict(marks.get("screenshots", {}))
    out = outbox_dir(state_dir)
    ids = []
    for path in sorted(shots.iterdir()):
        m = SCREENSHOT_RE.match(path.name)
        if not m:
            continue
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        face = m.group(1)
        if seen.get(face) == st.st_mtime_ns or st.st_size == 0:
            continue
        name = f"shot-{face}-{st.st_mtime_ns}.{m.group(2)}"
        tmp = out / (name + ".tmp")
        try:
            shutil.copyfile(path, tmp)
        except FileNotFoundError:
            continue  # the player replaced it just now; next round
        os.replace(tmp, out / name)
        taken = datetime.fromtimestamp(st.st_mtime, timezone.utc)
        ids.append(db["sync_outbox"].insert({
            "kind": "screenshot", "created_at": iso(taken), "face_id": int(face),
            "path": name, "size": (out / name).stat().st_size,
        }).last_pk)
        seen[face] = st.st_mtime_ns
    set_state(db, MARKS_KEY, {**(get_state(db, MARKS_KEY) or {}), "screenshots": seen})
    return ids


def enforce_bounds(db, state_dir: Path, max_items: int, max_bytes: int) -> dict[str, int]:
    """Drop the oldest screenshots, then the oldest heartbeats, until within bounds."""
    dropped = {"screenshot": 0, "heartbeat": 0}
    out = outbox_dir(state_dir)
    while True:
        count, size = db.execute("SELECT count(*), coalesce(sum(size), 0) FROM sync_outbox").fetchone()
        if count <= max_items and size <= max_bytes:
            break
        row = db.execute(
            "SELECT id, kind, path FROM sync_outbox ORDER BY kind = 'heartbeat', id LIMIT 1"
        ).fetchone()
        if row is None:
            break
        remove_item(db, out, row[0], row[2])
        dropped[row[1]] += 1
    if any(dropped.values()):
        log_event(db, "sync", "warning", "queue_dropped",
                  f"upstream queue full: dropped {dropped['screenshot']} oldest screenshot(s) and "
                  f"{dropped['heartbeat']} oldest heartbeat(s); proof of play is kept",
                  detail=dropped)
    return dropped


def remove_item(db, out: Path, item_id: int, path: str | None) -> None:
    db.execute("DELETE FROM sync_outbox WHERE id = ?", [item_id])
    if path:
        (out / path).unlink(missing_ok=True)


def tidy(db, state_dir: Path) -> None:
    """After a crash: files without a row and rows without a file go."""
    out = outbox_dir(state_dir)
    known = {r[0] for r in db.execute("SELECT path FROM sync_outbox WHERE path IS NOT NULL")}
    for p in out.iterdir():
        if p.name not in known:
            p.unlink(missing_ok=True)
    for item_id, path in db.execute(
        "SELECT id, path FROM sync_outbox WHERE kind = 'screenshot'"
    ).fetchall():
        if not (out / path).exists():
            db.execute("DELETE FROM sync_outbox WHERE id = ?", [item_id])


def pending(db) -> dict[str, int]:
    counts = dict(db.execute("SELECT kind, count(*) FROM sync_outbox GROUP BY kind").fetchall())
    plays = db.execute(
        "SELECT count(*) FROM proof_of_play WHERE sent_at IS NULL AND outcome != 'playing' "
        "AND id NOT IN (SELECT play_id FROM sync_rejected_play)"
    ).fetchone()[0]
    size = db.execute("SELECT coalesce(sum(size), 0) FROM sync_outbox").fetchone()[0]
    return {"heartbeats": counts.get("heartbeat", 0), "screenshots": counts.get("screenshot", 0),
            "proof_of_play": plays, "bytes": size}
