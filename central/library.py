"""The content library: media uploaded to the central server, their approval,
retirement, and the playlists built from them.

Uploads go through the same checks as the gate admin's (`kiosk.validate`);
text slides are small JSON specs (kind `text`) named by their sha256 too.
Only approved media can be published; retired media drop out of the next
release.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterable

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select, update

from kiosk.mediastore import MediaStore, MediaStoreError, check_sha256
from kiosk.store import iso, parse_iso, utcnow

from central import schema as t
from central.checks import CentralError, NotFound, check_drawable, check_id, check_name
from central.db import insert_or_update, row, rows, transaction
from central.users import audit, check_four_eyes, require_right

MEDIA_STATES = ("uploaded", "approved", "rejected", "retired")
MAX_TEXT_SPEC_BYTES = 64 * 1024


def library_store(state_dir: Path | str) -> MediaStore:
    return MediaStore(Path(state_dir) / "library")


def central_id(raw: str, what: str) -> str:
    """Ids of playlists and entries leave central prefixed `c-` (docs/sync-protocol.md)."""
    raw = raw if raw.startswith("c-") else "c-" + raw
    return check_id(raw, what)


def get_media(db, sha256: str) -> dict:
    try:
        check_sha256(sha256)
    except MediaStoreError as e:
        raise CentralError(str(e), "sha256_format", value=str(sha256)[:80]) from None
    with transaction(db) as conn:
        found = row(conn.execute(select(t.media).where(t.media.c.sha256 == sha256)))
    if found is None:
        raise NotFound(f"no media {sha256} in the library", "media_unknown", value=sha256[:12])
    return found


def resolve_media(db, prefix: str) -> str:
    """A full sha256 from an unambiguous prefix of at least 8 hex digits (for the CLI)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise CentralError(f"give at least 8 hex digits of a sha256, got {prefix!r}",
                           "sha_short", value=prefix)
    with transaction(db) as conn:
        hits = list(conn.execute(select(t.media.c.sha256)
                                 .where(t.media.c.sha256.startswith(prefix)).limit(2)).scalars())
    if not hits:
        raise NotFound(f"no media {prefix}… in the library", "media_unknown", value=prefix + "…")
    if len(hits) > 1:
        raise CentralError(f"{prefix}… names more than one media item; give more digits",
                           "sha_ambiguous", value=prefix)
    return hits[0]


def _record(db, sha256: str, kind: str, name: str, fmt: str, size: int, by: str,
            duration_s=None, width=None, height=None, language=None) -> dict:
    with transaction(db, write=True) as conn:
        existing = row(conn.execute(select(t.media).where(t.media.c.sha256 == sha256)))
        if existing:
            # The same bytes again: keep its approval state; `already` lets
            # the console say so instead of "stored".
            return {**existing, "already": True}
        new = {"sha256": sha256, "kind": kind, "name": name, "format": fmt, "size": size,
               "duration_s": duration_s, "width": width, "height": height, "state": "uploaded",
               "uploaded_at": iso(utcnow()), "uploaded_by": by, "language": language}
        conn.execute(insert(t.media).values(new))
        audit(conn, by, "media.add", sha256, {"name": name, "kind": kind})
    return new


def add_media(db, state_dir, source: Path | str | BinaryIO | Iterable[bytes], name: str,
              by: str = "cli", limits=None, language: str | None = None) -> dict:
    """Check and store an uploaded video or image; returns its library row.
    A refusal says why in the reader's language (the gate admin's messages)
    and stores nothing."""
    from kiosk.validate import Limits, MediaRejected, ingest, safe_display_name
    from kiosk.web.media import rejection_message

    language = check_language(language)

    store = library_store(state_dir)
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as f:
                sha256, info = ingest(store, f, limits or Limits())
        else:
            sha256, info = ingest(store, source, limits or Limits())
    except MediaRejected as e:
        raise CentralError(f"{safe_display_name(name)}: {rejection_message(e)}") from None
    return _record(db, sha256, info.kind, safe_display_name(name), info.format, info.size, by,
                   info.duration_s, info.width, info.height, language)


def add_text(db, state_dir, spec, name: str, by: str = "cli", valid_from: str | None = None,
             valid_until: str | None = None) -> dict:
    """Store a text slide spec (kiosk/text/slide.py format) as media of kind
    `text`, after the gate's own checks: its shape, and every character
    against the fonts (refused here rather than skipped on a screen). The
    common refusals are said in the reader's language; nothing is stored on
    any refusal. The dates (YYYY-MM-DD) are checked before anything is stored."""
    import json

    from kiosk.text.fonts import FontError
    from kiosk.text.slide import MAX_LANGUAGES, SlideError, parse_spec
    from kiosk.validate import safe_display_name

    name = safe_display_name(name)
    dates = _dates(valid_from, valid_until)
    if isinstance(spec, (bytes, str)):
        try:
            spec = json.loads(spec)
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass  # parse_spec says why
    if isinstance(spec, dict):
        said = [lang for part in ("title", "body") if isinstance(spec.get(part), dict)
                for lang, text in spec[part].items() if str(text or "").strip()]
        if not said:
            raise CentralError(_("Write the slide's title or text in at least one language."))
        if len(set(said)) > MAX_LANGUAGES:
            raise CentralError(_("A text slide shows at most %(n)d languages.", n=MAX_LANGUAGES))
        duration = spec.get("duration_s")
        if duration is not None and (not isinstance(duration, (int, float))
                                     or not 1 <= duration <= 3600):
            raise CentralError(_("A slide is shown for 1 to 3600 seconds."))
    try:
        slide = parse_spec(spec)
        check_drawable(slide.body)
        check_drawable(slide.title, bold_too=True)
    except (SlideError, FontError) as e:
        # A malformed spec (only the CLI and the API can send one) by its code.
        raise CentralError(f"{name}: {e}", e.code, **e.params) from None
    if slide.background_image:
        background = get_media(db, slide.background_image)
        if background["kind"] != "image":
            raise CentralError(f"{name}: background_image must be an image in the library",
                               "background_image", name=name)
    data = slide.to_json()  # canonical: the same slide typed twice is one media item
    if len(data) > MAX_TEXT_SPEC_BYTES:
        raise CentralError(f"{name}: a text slide spec is limited to {MAX_TEXT_SPEC_BYTES} bytes",
                           "slide_spec_long", name=name, limit=MAX_TEXT_SPEC_BYTES)
    sha256 = library_store(state_dir).add_bytes(data)
    langs = list(slide.languages)
    row = _record(db, sha256, "text", name, "json", len(data), by, slide.duration_s,
                  language=langs[0] if len(langs) == 1 else ",".join(langs) or None)
    if dates["valid_from"] or dates["valid_until"]:
        row = set_media_dates(db, sha256, by, dates["valid_from"], dates["valid_until"])
    return row


def slide_background(state_dir, sha256: str) -> str | None:
    """The image a stored text slide draws on, which must travel with it."""
    from kiosk.text.slide import parse_spec

    return parse_spec(library_store(state_dir).path(sha256).read_bytes()).background_image


def approve_media(db, sha256: str, by: str) -> dict:
    """Approve for publishing: an approver or admin, never the uploader (four eyes)."""
    with transaction(db, write=True) as conn:
        require_right(conn, by, "approve")
        media = get_media(conn, sha256)
        if media["state"] == "retired":
            raise CentralError(_("%(name)s is retired; upload it again to use it again.",
                                 name=media["name"]))
        check_four_eyes(media["uploaded_by"], by)
        conn.execute(update(t.media).where(t.media.c.sha256 == sha256).values(
            state="approved", approved_at=iso(utcnow()), approved_by=by,
            rejected_at=None, rejected_by=None, reject_reason=None))
        audit(conn, by, "media.approve", sha256, {"name": media["name"]})
        return get_media(conn, sha256)


def reject_media(db, sha256: str, by: str, reason: str) -> dict:
    """Refuse media, with the reason the uploader reads; it cannot be published."""
    reason = check_name(reason, "reason", 500)
    if not reason:
        raise CentralError(_("Say why it is rejected (the uploader reads it)."))
    with transaction(db, write=True) as conn:
        require_right(conn, by, "approve")
        media = get_media(conn, sha256)
        if media["state"] == "retired":
            raise CentralError(_("%(name)s is retired already.", name=media["name"]))
        conn.execute(update(t.media).where(t.media.c.sha256 == sha256).values(
            state="rejected", rejected_at=iso(utcnow()), rejected_by=by, reject_reason=reason,
            approved_at=None, approved_by=None))
        audit(conn, by, "media.reject", sha256, {"name": media["name"], "reason": reason})
        return get_media(conn, sha256)


def _dates(valid_from: str | None, valid_until: str | None) -> dict:
    """valid_from/valid_until checked: dates (YYYY-MM-DD), the last not before the first."""
    from datetime import date

    values = {}
    for key, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        value = (value or "").strip() or None
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise CentralError(_("%(value)s is not a date (YYYY-MM-DD).", value=value)) \
                    from None
        values[key] = value
    if values["valid_from"] and values["valid_until"] and values["valid_until"] < values["valid_from"]:
        from kiosk.web.formatting import local_date  # as the date fields show them

        raise CentralError(_("The last day (%(until)s) is before the first (%(start)s).",
                             until=local_date(values["valid_until"]),
                             start=local_date(values["valid_from"])))
    return values


def set_media_dates(db, sha256: str, by: str, valid_from: str | None,
                    valid_until: str | None) -> dict:
    """The dates (YYYY-MM-DD, both included) between which it may be shown."""
    values = _dates(valid_from, valid_until)
    with transaction(db, write=True) as conn:
        require_right(conn, by, "edit")
        get_media(conn, sha256)
        conn.execute(update(t.media).where(t.media.c.sha256 == sha256).values(**values))
        audit(conn, by, "media.dates", sha256, values)
        return get_media(conn, sha256)


def check_language(language: str | None) -> str | None:
    from kiosk.text.fonts import LANGUAGES as TEXT_LANGUAGES

    language = (language or "").strip() or None
    if language is not None and language not in TEXT_LANGUAGES:
        raise CentralError(_("Unknown language %(lang)s (one of %(langs)s).", lang=language,
                             langs=", ".join(TEXT_LANGUAGES)))
    return language


def retire_media(db, sha256: str, by: str) -> dict:
    """Take media off every screen at the next publish (and out of new playlists)."""
    with transaction(db, write=True) as conn:
        require_right(conn, by, "approve")
        get_media(conn, sha256)
        conn.execute(update(t.media).where(t.media.c.sha256 == sha256).values(
            state="retired", retired_at=iso(utcnow()), retired_by=by))
        audit(conn, by, "media.retire", sha256)
        return get_media(conn, sha256)


def list_media(db, state: str | None = None, *, kind: str | None = None,
               language: str | None = None, uploader: str | None = None,
               newest_first: bool = False) -> list[dict]:
    m = t.media
    order = (m.c.uploaded_at.desc(), m.c.sha256) if newest_first else (m.c.uploaded_at, m.c.sha256)
    query = select(m).order_by(*order)
    if state:
        query = query.where(m.c.state == state)
    if kind:
        query = query.where(m.c.kind == kind)
    if language:
        query = query.where(m.c.language.contains(language))
    if uploader:
        query = query.where(m.c.uploaded_by == uploader)
    with transaction(db) as conn:
        return rows(conn.execute(query))


def uploaders(db) -> list[str]:
    with transaction(db) as conn:
        return [u for u in conn.execute(select(t.media.c.uploaded_by).distinct()
                                        .order_by(t.media.c.uploaded_by)).scalars() if u]


def emergencies_playing(conn, playlist_id: str) -> list[dict]:
    """Live emergencies (neither ended nor cancelled) that play this playlist.
    Their playlist is re-read whenever releases are re-signed, so a change to
    it would reach the gates without a publication's approval: refused."""
    e = t.emergency.c
    now = utcnow()
    return [r for r in rows(conn.execute(select(t.emergency).where(
        e.playlist_id == playlist_id, e.cancelled_at.is_(None)).order_by(e.starts_at)))
        if parse_iso(r["ends_at"]) > now]


def save_playlist(db, playlist_id: str, name: str, items: list[tuple[str, float | None]],
                  by: str = "cli") -> str:
    """Create or replace a playlist; items are (sha256, duration override or None)."""
    pid = central_id(playlist_id, "playlist")
    name = check_name(name, "playlist name")
    if not items:
        raise CentralError("a playlist needs at least one item", "playlist_empty")
    with transaction(db, write=True) as conn:
        playing = emergencies_playing(conn, pid)
        if playing:
            raise CentralError(_("The playlist %(id)s is playing in the emergency in force now "
                                 "(“%(reason)s”); nothing was saved. Change it after the "
                                 "emergency ends.", id=pid.removeprefix("c-"),
                                 reason=playing[0]["reason"]))
        for sha256, duration in items:
            media = get_media(conn, sha256)
            if media["state"] == "retired":
                raise CentralError(f"{sha256} ({media['name']}) is retired", "media_retired",
                                   name=media["name"], sha=sha256[:12])
            if duration is not None and not 0 < duration <= 24 * 3600:
                raise CentralError(f"item duration must be positive seconds, got {duration}",
                                   "item_duration", value=duration)
        insert_or_update(conn, t.playlist, {"id": pid, "name": name or pid,
                                            "created_at": iso(utcnow())}, ("id",))
        conn.execute(delete(t.playlist_item).where(t.playlist_item.c.playlist_id == pid))
        conn.execute(insert(t.playlist_item), [
            {"playlist_id": pid, "position": i, "media_sha256": sha, "duration_s": d}
            for i, (sha, d) in enumerate(items)])
        audit(conn, by, "playlist.save", pid, {"items": len(items)})
    return pid


def get_playlist(db, playlist_id: str) -> dict:
    with transaction(db) as conn:
        playlist = row(conn.execute(select(t.playlist).where(t.playlist.c.id == playlist_id)))
        if playlist is None:
            # Named as the user typed it: the "c-" prefix is internal.
            raise NotFound(f"no playlist {playlist_id.removeprefix('c-')!r}", "playlist_unknown",
                           value=playlist_id.removeprefix("c-"))
        playlist["items"] = rows(conn.execute(
            select(t.playlist_item).where(t.playlist_item.c.playlist_id == playlist_id)
            .order_by(t.playlist_item.c.position)))
    return playlist


def media_counts(db) -> dict[str, int]:
    """How many media items are in each state (the console's overview)."""
    with transaction(db) as conn:
        found = dict(conn.execute(select(t.media.c.state, func.count())
                                  .group_by(t.media.c.state)).all())
    return {state: found.get(state, 0) for state in MEDIA_STATES}
