"""Local notices (ticker or slide) over kiosk.text.notices, which stores them
in the core `notice` table and renders them on the faces."""

from __future__ import annotations

import re

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from kiosk.schedule import LEVELS
from kiosk.settings import faces as configured_faces
from kiosk.store import iso, utcnow, writing
from kiosk.text import notices as text_notices

from admin.services import Actor, AdminError, audit, check_face, typed_datetime

LANGUAGES = ("vi", "en", "zh", "lo", "km")
MAX_CHARS = 500


def language_names() -> dict:
    return {"vi": _("Vietnamese"), "en": _("English"), "zh": _("Chinese"), "lo": _("Lao"),
            "km": _("Khmer")}


def _public(n) -> dict:
    return {"id": n.id, "kind": n.kind, "level": n.level, "texts": n.texts, "faces": list(n.faces),
            "starts_at": iso(n.starts_at), "expires_at": iso(n.expires_at),
            "withdrawn_at": iso(n.withdrawn_at), "created_by": n.created_by, "source": n.source}


def list_notices(db, include_ended: bool = False) -> list[dict]:
    now = utcnow()
    out = []
    for n in reversed(text_notices.list_notices(db, now, include_ended=include_ended)):
        d = _public(n)
        d["active"] = n.active(now)
        out.append(d)
    return out[:200]


def create(db, settings, actor: Actor, data: dict) -> dict:
    texts = {}
    for lang, text in (data.get("texts") or {}).items():
        if lang not in LANGUAGES:
            raise AdminError(_("Unknown language %(lang)s.", lang=str(lang)[:10]), field="texts")
        text = str(text or "").strip()
        if len(text) > MAX_CHARS:
            raise AdminError(_("A notice text has at most %(n)d characters.", n=MAX_CHARS), field="texts")
        if text:
            texts[lang] = text
    if not texts:
        raise AdminError(_("Write the notice in at least one language."), field="texts")
    if len(texts) > 3:
        raise AdminError(_("A notice has at most three languages."), field="texts")
    kind = data.get("kind") or "ticker"
    if kind not in ("ticker", "slide"):
        raise AdminError(_("Choose ticker or slide."), field="kind")
    level = data.get("level") or "normal"
    if level not in LEVELS:
        raise AdminError(_("Choose a level: emergency, priority or normal."), field="level")
    known = [f["id"] for f in configured_faces(settings)]
    faces = [check_face(settings, f, "faces") for f in data.get("faces") or []]
    now = utcnow()
    expires = _expiry(data.get("expires_at"), settings, now)
    with writing(db):
        try:
            notice = text_notices.set_notice(
                db, texts, level=level, kind=kind, faces=faces,
                duration=(expires - now) if expires else None, created_by=actor.username,
                # The gate's font chains: a text they cannot draw is refused here, not on screen.
                fonts=settings.get("text_fonts"), known_faces=known, now=now)
        except text_notices.NoticeError as e:
            raise AdminError(notice_error_in_words(str(e)), field="texts") from None
        result = _public(notice)
        audit.record(db, actor, "notice.create", notice.id, None, result)
    return result


def _expiry(value, settings, now: datetime) -> datetime | None:
    """'HH:mm dd/mm/yyyy' (the form) or 'YYYY-MM-DDTHH:MM' in the gate's local
    time (or ISO with an offset) -> aware datetime."""
    at = typed_datetime(value, "expires_at")
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(settings["timezone"]))
    if at <= now:
        raise AdminError(_("The expiry must be in the future."), field="expires_at")
    return at


def withdraw(db, actor: Actor, notice_id: str) -> None:
    with writing(db):
        before = [n for n in list_notices(db) if n["id"] == notice_id]
        if before and before[0]["source"] != "local":
            raise AdminError(_("This notice comes from the central authority and is read-only here."), 409)
        try:
            text_notices.clear_notices(db, notice_id, by=actor.username)
        except text_notices.NoticeError:
            raise AdminError(_("No such current notice."), 404) from None
        audit.record(db, actor, "notice.withdraw", notice_id, before[0] if before else None, None)


_NO_GLYPH = re.compile(r"\((\w+)\) text cannot be shown: the font\(s\) (.+?) have no glyph for (.+?)\. Install")
_NO_FONT = re.compile(r"font '(.+?)' for .+? \((\w+)\) is not installed")
_CONTROL = re.compile(r"contains the control character (U\+[0-9A-F]{4})")


def notice_error_in_words(message: str) -> str:
    """kiosk.text's refusals (English, for the CLI) in the reader's language:
    the font errors a technician can act on are said plainly."""
    from admin.events import LANGUAGE_NAMES

    def lang(code: str) -> str:
        return _(LANGUAGE_NAMES[code]) if code in LANGUAGE_NAMES else code

    m = _NO_GLYPH.search(message)
    if m:
        return _("The %(language)s text has characters no installed font can draw (%(chars)s): the "
                 "screens would show empty boxes. Change the text, or install the font (Debian "
                 "packages fonts-noto-core, fonts-noto-cjk).", language=lang(m[1]), chars=m[3])
    m = _NO_FONT.search(message)
    if m:
        return _("The font %(font)s for %(language)s is not installed on the controller (Debian "
                 "packages fonts-noto-core, fonts-noto-cjk).", font=m[1], language=lang(m[2]))
    m = _CONTROL.search(message)
    if m:
        return _("The text contains an invisible control character (%(char)s): type it again.",
                 char=m[1])
    return _("The notice cannot be shown: %(detail)s", detail=message)
