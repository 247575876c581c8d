"""Emergencies: a slide in up to five languages (and/or an approved playlist)
on chosen faces of chosen gates, groups or the whole province, for a limited
time, published by one person with the emergency right, with a reason, and
cancellable early. Both are audited with who and why.

An emergency is not an assignment: it is kept here and layered onto each
target gate's release in force by central.publish (`publish_emergency`,
`cancel_emergency`), so nothing pending anywhere rides along with it or holds
it back, and it never waits for a full publication being built.

A slide shows at most three languages (kiosk.text.slide.MAX_LANGUAGES): an
emergency in more is shown as several slides taking turns, Vietnamese first.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from kiosk.store import iso, parse_iso, utcnow

from central import schema as t
from central.checks import CentralError, NotFound, int_list
from central.db import row, rows, transaction
from central.fleet import check_target, gates_of_target
from central.library import central_id, get_playlist

# At most 24 hours: an emergency is meant to be short-lived, and the gate drops
# it on its own at its end even if it never hears from central again.
MAX_DURATION = timedelta(hours=24)
MAX_REASON = 500
TARGET_KINDS = ("gate", "group", "province")
# The notices and entry an emergency puts in a release have ids starting so.
ID_PREFIX = "c-em-"


class EmergencyError(CentralError):
    """An emergency refused; `code` and `params` let the console say it in
    the reader's language (str() is the English message for logs), through
    central.checks.SENTENCES["emergency_<code>"]."""

    sentence_prefix = "emergency_"

    def __init__(self, code: str, message: str, **params):
        super().__init__(message, code, **params)


@dataclass(frozen=True)
class Target:
    kind: str  # gate | group | province (every gate)
    id: str = ""

    def label(self) -> str:
        return "province" if self.kind == "province" else f"{self.kind}:{self.id}"


def parse_targets(raw) -> list[Target]:
    """"gate:ID", "group:ID", "province", (kind, id) or {"kind", "id"}."""
    out = []
    for item in raw or ():
        if isinstance(item, Target):
            out.append(item)
            continue
        if isinstance(item, dict):
            kind, tid = item.get("kind"), item.get("id") or ""
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            kind, tid = item
        else:
            kind, _, tid = str(item).partition(":")
        if kind not in TARGET_KINDS:
            raise EmergencyError("target", f"not a target: {item!r} (gate:ID, group:ID or province)",
                                 value=str(item))
        out.append(Target(kind, "" if kind == "province" else str(tid)))
    if not out:
        raise EmergencyError("no_target", "choose at least one gate, group or the province")
    return list(dict.fromkeys(out))


def target_gates(conn, targets: list[Target]) -> list[str]:
    """The gate ids the targets name; unknown ids refused."""
    gates: set[str] = set()
    for target in targets:
        check_target(conn, target.kind, target.id)
        gates.update(gates_of_target(conn, target.kind, target.id))
    if not gates:
        raise EmergencyError("no_gate", "no gate in those targets (an empty group?)")
    return sorted(gates)


def check_texts(texts) -> dict[str, str]:
    """The gate's own rules: known languages, clean text, every character
    drawable with the fonts, in the bold of the title too."""
    from kiosk.text.fonts import FontError, MissingGlyphs, check_language_texts
    from kiosk.text.fonts import check_texts as check_glyphs

    try:
        texts = check_language_texts(texts, "text")
        check_glyphs(texts, bold_too=True)
    except MissingGlyphs as e:
        raise EmergencyError("glyphs", str(e), lang=e.lang, chars="".join(e.chars)) from None
    except FontError as e:
        raise EmergencyError("text", str(e)) from None
    return texts


def slides(texts: dict[str, str]) -> list[dict[str, str]]:
    """The texts as slides of at most three languages in the order on
    screen; with more, every slide keeps Vietnamese first (Vietnamese, the
    neighbour's language, a foreign language). No texts (an emergency that is only a
    playlist), no slide: a slide without text would make the gate refuse
    the whole release."""
    from kiosk.text.fonts import sort_languages
    from kiosk.text.slide import MAX_LANGUAGES

    if not texts:
        return []
    langs = sort_languages(texts)
    if len(langs) <= MAX_LANGUAGES:
        return [dict((lang, texts[lang]) for lang in langs)]
    lead = langs[:1] if langs[0] == "vi" else []
    rest = langs[len(lead):]
    step = MAX_LANGUAGES - len(lead)
    return [{lang: texts[lang] for lang in lead + rest[i:i + step]}
            for i in range(0, len(rest), step)]


def check(conn, targets, *, minutes, texts=None, playlist_id=None, faces=None,
          reason: str = "") -> dict:
    """Every field checked, nothing stored: the clean values."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise EmergencyError("reason", "say why (the reason is kept in the audit log)")
    if len(reason) > MAX_REASON:
        raise EmergencyError("reason_long", f"the reason is at most {MAX_REASON} characters",
                             limit=MAX_REASON)
    try:
        duration = timedelta(minutes=float(minutes))
    except (TypeError, ValueError):
        raise EmergencyError("duration", "the duration is a number of minutes") from None
    if not timedelta(0) < duration <= MAX_DURATION:
        raise EmergencyError("duration", "an emergency lasts more than 0 and at most 24 hours")
    texts = check_texts(texts) if texts else {}
    if not texts and not playlist_id:
        raise EmergencyError("empty", "an emergency needs a text or a playlist")
    targets = parse_targets(targets)
    gates = target_gates(conn, targets)
    pid = None
    if playlist_id:
        pid = get_playlist(conn, central_id(playlist_id, "playlist"))["id"]
    return {"targets": targets, "gates": gates, "texts": texts, "playlist_id": pid,
            "faces": int_list(faces, 1, 4, "faces"), "duration": duration, "reason": reason}


def record(conn, clean: dict, *, by: str, now: datetime) -> str:
    eid = "em-" + secrets.token_hex(5)
    conn.execute(insert(t.emergency).values(
        id=eid, targets=json.dumps([{"kind": x.kind, "id": x.id} for x in clean["targets"]]),
        gates=json.dumps(clean["gates"]), faces=json.dumps(clean["faces"]),
        texts=json.dumps(clean["texts"], ensure_ascii=False), playlist_id=clean["playlist_id"],
        starts_at=iso(now), ends_at=iso(now + clean["duration"]), reason=clean["reason"],
        created_by=by))
    return eid


def get(db, emergency_id: str) -> dict:
    with transaction(db) as conn:
        found = row(conn.execute(select(t.emergency).where(t.emergency.c.id == emergency_id)))
    if found is None:
        raise NotFound(f"no emergency {emergency_id!r}", "emergency_unknown", value=emergency_id)
    return _public(found)


def _public(r: dict) -> dict:
    return {**r, "targets": json.loads(r["targets"]), "gates": json.loads(r["gates"]),
            "faces": json.loads(r["faces"]), "texts": json.loads(r["texts"])}


def is_live(r: dict, now: datetime) -> bool:
    return r["cancelled_at"] is None and parse_iso(r["ends_at"]) > now


def live(db, now: datetime | None = None) -> list[dict]:
    """Emergencies neither ended nor cancelled, oldest first."""
    now = now or utcnow()
    e = t.emergency.c
    with transaction(db) as conn:
        found = rows(conn.execute(select(t.emergency).where(e.cancelled_at.is_(None))
                                  .order_by(e.starts_at, e.id)))
    return [_public(r) for r in found if parse_iso(r["ends_at"]) > now]


def recent(db, limit: int = 50) -> list[dict]:
    e = t.emergency.c
    with transaction(db) as conn:
        return [_public(r) for r in rows(conn.execute(
            select(t.emergency).order_by(e.starts_at.desc(), e.id.desc()).limit(limit)))]


def mark_cancelled(conn, emergency_id: str, *, by: str, reason: str, now: datetime) -> dict:
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise EmergencyError("reason", "say why (the reason is kept in the audit log)")
    found = get(conn, emergency_id)
    if not is_live(found, now):
        raise EmergencyError("not_live", f"emergency {emergency_id} has already ended",
                             id=emergency_id)
    conn.execute(update(t.emergency).where(t.emergency.c.id == emergency_id).values(
        cancelled_at=iso(now), cancelled_by=by, cancel_reason=reason[:MAX_REASON]))
    return found


def set_publication(conn, emergency_id: str, publication_id: int) -> None:
    conn.execute(update(t.emergency).where(t.emergency.c.id == emergency_id)
                 .values(publication_id=publication_id))


def is_layer_id(item_id: str) -> bool:
    return item_id.startswith(ID_PREFIX)


# Faces' sizes a preview can be drawn at (central does not know each face's
# output; these are the gates' screens).
PREVIEW_SIZES = ((1920, 1080), (1080, 1920), (1280, 720), (3840, 2160))


def preview_pngs(texts: dict[str, str], width: int = 1920, height: int = 1080) -> list[bytes]:
    """The emergency's slides as a gate draws them on a face of that size
    (the gate's own notice_slide and renderer), as PNG files."""
    import io

    from kiosk.text.notices import Notice, notice_slide
    from kiosk.text.slide import render_images

    out = []
    for part in slides(check_texts(texts)):
        notice = Notice(id="preview", kind="slide", level="emergency", texts=part, faces=(),
                        style={}, starts_at=None, expires_at=None, withdrawn_at=None,
                        created_by=None, source="central")
        images, _ = render_images(notice_slide(notice, {}), width, height)
        for image in images:
            buf = io.BytesIO()
            image.save(buf, "PNG")
            out.append(buf.getvalue())
    return out
