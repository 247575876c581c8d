"""Notices: text set by a technician (CLI, admin) or brought by a release.

A notice is a row of the core `notice` table. Slide notices become schedule
entries synthesized at their level (an emergency one preempts everything on
its faces, between `starts_at` and its expiry or withdrawal); ticker notices
feed the scrolling band of the outputs that show their faces. Nothing is
deleted: clearing a notice sets `withdrawn_at`, so the history stays.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterable, Mapping, Sequence

from kiosk.schedule import LEVEL_RANK, LEVELS, Entry, Item
from kiosk.store import iso, log_event, parse_iso, utcnow, writing
from kiosk.text.fonts import FontError, check_language_texts, check_texts, sort_languages
from kiosk.text.slide import MAX_LANGUAGES, SlideSpec
from kiosk.web.i18n import N_, Refusal

KINDS = ("slide", "ticker")
# Entry and playlist ids of synthesized notice entries; never stored.
NOTICE_PREFIX = "notice:"
# The word above an emergency slide, per language, when the notice sets no title.
EMERGENCY_TITLES = {
    "vi": "THÔNG BÁO KHẨN",
    "en": "EMERGENCY NOTICE",
    "zh": "紧急通知",
    "lo": "ແຈ້ງການສຸກເສີນ",
    "km": "សេចក្តីជូនដំណឹងបន្ទាន់",
}
_DURATION_RE = re.compile(r"(\d+)\s*([dhms])")
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class NoticeError(Refusal):
    """A notice cannot be set or found; the message says why (str() in
    English, `say(gettext)` in the reader's language)."""


def parse_duration(text: str) -> timedelta:
    """'30m', '2h', '1h30m', '90s', '1d' -> timedelta."""
    compact = str(text).strip().lower().replace(" ", "")
    parts = _DURATION_RE.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise NoticeError(N_("not a duration like 30m, 2h or 1h30m: '%(text)s'"), text=text)
    seconds = sum(int(n) * _UNIT_S[u] for n, u in parts)
    if seconds <= 0:
        raise NoticeError(N_("a notice must last longer than zero: '%(text)s'"), text=text)
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Notice:
    id: str
    kind: str
    level: str
    texts: dict[str, str]
    faces: tuple[int, ...]  # () = every face
    style: dict
    starts_at: datetime | None
    expires_at: datetime | None
    withdrawn_at: datetime | None
    created_by: str | None
    source: str

    @classmethod
    def from_row(cls, row: Mapping) -> "Notice":
        return cls(
            id=str(row["id"]), kind=row["kind"], level=row["level"],
            texts=json.loads(row["texts"] or "{}"),
            faces=tuple(int(f) for f in json.loads(row.get("faces") or "[]")),
            style=json.loads(row.get("style") or "{}"),
            starts_at=parse_iso(row.get("starts_at")), expires_at=parse_iso(row.get("expires_at")),
            withdrawn_at=parse_iso(row.get("withdrawn_at")), created_by=row.get("created_by"),
            source=row.get("source") or "local",
        )

    @property
    def ends_at(self) -> datetime | None:
        ends = [t for t in (self.expires_at, self.withdrawn_at) if t is not None]
        return min(ends) if ends else None

    def active(self, now: datetime) -> bool:
        if self.starts_at is not None and now < self.starts_at:
            return False
        return self.ends_at is None or now < self.ends_at

    def on_face(self, face: int) -> bool:
        return not self.faces or face in self.faces

    def languages(self) -> list[str]:
        return sort_languages(self.texts)


def validate_texts(texts: Mapping[str, str | None], kind: str) -> dict[str, str]:
    try:
        out = check_language_texts(texts, "text")
    except FontError as e:
        raise NoticeError(str(e)) from None  # the font's own words (English)
    if not out:
        raise NoticeError(N_("a notice needs text in at least one language (e.g. --text-vi)"))
    if kind == "slide" and len(out) > MAX_LANGUAGES:
        raise NoticeError(
            N_("a slide shows at most %(most)s languages, got %(count)s: %(languages)s "
               "(a ticker takes them all in turn)"),
            most=MAX_LANGUAGES, count=len(out), languages=", ".join(sort_languages(out)))
    return out


def set_notice(db, texts: Mapping[str, str | None], *, level: str = "normal", kind: str = "slide",
               faces: Iterable[int] = (), duration: timedelta | None = None,
               starts_at: datetime | None = None, style: Mapping | None = None,
               created_by: str = "cli", source: str = "local", fonts: Mapping | None = None,
               known_faces: Sequence[int] | None = None, now: datetime | None = None) -> Notice:
    """Validate and store a notice; glyphs are checked now so a bad font fails here, not on screen."""
    if level not in LEVELS:
        raise NoticeError(N_("unknown level '%(level)s' (%(levels)s)"), level=level,
                          levels=", ".join(LEVELS))
    if kind not in KINDS:
        raise NoticeError(N_("unknown kind '%(kind)s' (%(kinds)s)"), kind=kind,
                          kinds=", ".join(KINDS))
    texts = validate_texts(texts, kind)
    faces = sorted(set(int(f) for f in faces))
    if known_faces is not None:
        unknown = [f for f in faces if f not in known_faces]
        if unknown:
            raise NoticeError(N_("no face %(face)s on this gate (faces: %(faces)s)"),
                              face=", ".join(map(str, unknown)),
                              faces=", ".join(map(str, known_faces)))
    style = dict(style or {})
    try:
        check_texts(texts, fonts, bold_too=False)
        if kind == "slide":
            check_texts(slide_titles(texts, level, style), fonts, bold_only=True)
    except FontError as e:
        raise NoticeError(str(e)) from None  # the font's own words (English)
    now = now or utcnow()
    begins = starts_at or now
    row = {
        "id": uuid.uuid4().hex[:12], "kind": kind, "level": level,
        "texts": json.dumps(texts, ensure_ascii=False), "faces": json.dumps(faces),
        "style": json.dumps(style, ensure_ascii=False),
        "starts_at": iso(begins), "expires_at": iso(begins + duration) if duration else None,
        "withdrawn_at": None, "created_at": iso(now), "created_by": created_by, "source": source,
    }
    db["notice"].insert(row)
    log_event(db, "text", "warning" if level == "emergency" else "info", "notice_set",
              f"{level} {kind} notice {row['id']} set by {created_by}"
              + (f" until {row['expires_at']}" if duration else " until cleared"),
              detail={"notice_id": row["id"], "faces": faces, "languages": sort_languages(texts),
                      "level": level, "kind": kind, "by": created_by, "expires_at": row["expires_at"]})
    return Notice.from_row(row)


def list_notices(db, now: datetime | None = None, include_ended: bool = False) -> list[Notice]:
    now = now or utcnow()
    rows = db.query("SELECT * FROM notice ORDER BY created_at, id")
    notices = [Notice.from_row(r) for r in rows]
    if not include_ended:
        notices = [n for n in notices if n.ends_at is None or now < n.ends_at]
    return notices


def active_notices(db, now: datetime | None = None) -> list[Notice]:
    now = now or utcnow()
    return [n for n in list_notices(db, now) if n.active(now)]


def clear_notices(db, notice_id: str | None = None, *, include_central: bool = False,
                  by: str = "cli", now: datetime | None = None) -> list[str]:
    """Withdraw one notice, or every current local (and with include_central, central) one."""
    now = now or utcnow()
    current = list_notices(db, now)
    if notice_id is not None:
        targets = [n for n in current if n.id == notice_id]
        if not targets:
            raise NoticeError(N_("no current notice with id '%(id)s' (see gatecast notice list)"),
                              id=notice_id)
    else:
        targets = [n for n in current if include_central or n.source == "local"]
    with writing(db):
        for n in targets:
            db.execute("UPDATE notice SET withdrawn_at = ? WHERE id = ?", [iso(now), n.id])
    for n in targets:
        log_event(db, "text", "info", "notice_cleared", f"{n.level} {n.kind} notice {n.id} withdrawn by {by}",
                  detail={"notice_id": n.id, "by": by, "level": n.level, "kind": n.kind})
    return [n.id for n in targets]


def next_change(db, now: datetime | None = None) -> datetime | None:
    """The next moment a notice starts or ends (the player re-evaluates then)."""
    now = now or utcnow()
    moments = [t for n in list_notices(db, now) for t in (n.starts_at, n.ends_at) if t and t > now]
    return min(moments) if moments else None


# ---- notices as slides and schedule entries --------------------------------


def slide_titles(texts: Mapping[str, str], level: str, style: Mapping) -> dict[str, str]:
    titles = style.get("title")
    if isinstance(titles, dict):
        return {k: v for k, v in titles.items() if k in texts and isinstance(v, str) and v.strip()}
    if level == "emergency":
        return {lang: EMERGENCY_TITLES[lang] for lang in texts if lang in EMERGENCY_TITLES}
    return {}


def notice_slide(notice: Notice, settings: Mapping) -> SlideSpec:
    """The slide a slide notice shows: red for an emergency, the settings' colours otherwise."""
    style = notice.style
    background = style.get("background") or (
        settings.get("text_emergency_background", "#B00020") if notice.level == "emergency"
        else settings.get("text_slide_background", "#0B3D91"))
    from kiosk.text.slide import parse_spec

    return parse_spec({
        "title": slide_titles(notice.texts, notice.level, style),
        "body": notice.texts,
        "languages": notice.languages()[:MAX_LANGUAGES],
        "layout": style.get("layout", "stacked"),
        "background": background,
        "color": style.get("color", "#FFFFFF"),
        "duration_s": style.get("duration_s"),
    })


def notice_schedule(db, store, settings: Mapping, face_ids: Sequence[int],
                    now: datetime | None = None) -> tuple[list[Entry], dict[str, list[Item]]]:
    """Schedule entries and playlists for current and future slide notices.

    The slide spec goes into the media store (content-addressed like any text
    media), so the player's text resolver renders it like a scheduled slide.
    A notice whose text cannot be drawn is left out and reported.
    """
    now = now or utcnow()
    entries: list[Entry] = []
    playlists: dict[str, list[Item]] = {}
    for notice in list_notices(db, now):
        if notice.kind != "slide" or notice.level not in LEVELS:
            continue
        faces = frozenset(f for f in face_ids if notice.on_face(f))
        if not faces:
            continue
        try:
            spec = notice_slide(notice, settings)
            # Checked here, not only when rendering: an emergency entry whose
            # slide cannot be drawn would preempt the schedule with black.
            fonts = settings.get("text_fonts")
            check_texts(spec.body, fonts)
            check_texts(spec.title, fonts, bold_only=True)
        except ValueError as e:
            _report_once(db, notice, e)
            continue
        data = spec.to_json()
        sha = hashlib.sha256(data).hexdigest()
        if not store.has(sha):
            store.add_bytes(data, sha)
        key = NOTICE_PREFIX + notice.id
        duration = spec.duration_s or float(settings.get("image_duration_s", 10.0))
        playlists[key] = [Item(sha, "text", duration, f"notice {notice.id}")]
        entries.append(Entry(
            id=key, playlist_id=key, faces=faces, start=time(0), end=None,
            level=notice.level, name=f"{notice.level} notice {notice.id}",
            not_before=notice.starts_at, not_after=notice.ends_at,
        ))
    return entries, playlists


_reported: set[tuple[str, str]] = set()


def _report_once(db, notice: Notice, error: Exception) -> None:
    # The player re-evaluates notices on every change: say it once per process.
    key = (notice.id, str(error))
    if key not in _reported:
        _reported.add(key)
        log_event(db, "text", "error", "notice_unrenderable", f"notice {notice.id} is not shown: {error}",
                  detail={"notice_id": notice.id})


def rank(notice: Notice) -> int:
    return LEVEL_RANK.get(notice.level, 0)
