"""Media: upload through kiosk.validate, list, delete when unused.

Files are stored by sha256 (kiosk.mediastore); the name a browser sends is
only ever shown, never used as a path. Media from the central authority are
read-only here.
"""

from __future__ import annotations

from flask_babel import gettext as _

from kiosk import decoders, mediaformats
from kiosk.mediastore import MediaStore, MediaStoreError, check_sha256
from kiosk.store import iso, utcnow, writing
from kiosk.validate import Limits, MediaRejected, ingest, safe_display_name
from kiosk.web.media import rejection_message

from admin.services import Actor, AdminError, Conflict, NotFound, audit



def list_media(db) -> list[dict]:
    usage = {}
    for r in db.query("SELECT i.media_sha256, p.id, p.name FROM playlist_item i "
                      "JOIN playlist p ON p.id = i.playlist_id ORDER BY p.name"):
        usage.setdefault(r["media_sha256"], {})[r["id"]] = r["name"]
    rows = []
    for m in db.query("SELECT * FROM media ORDER BY created_at DESC, name"):
        m["used_by"] = [{"id": k, "name": v} for k, v in usage.get(m["sha256"], {}).items()]
        m["mime"] = mediaformats.mime(m["format"])
        rows.append(m)
    return rows


def get(db, sha256: str) -> dict:
    try:
        check_sha256(sha256)
    except MediaStoreError:
        raise NotFound(_("No such media.")) from None
    rows = list(db.query("SELECT * FROM media WHERE sha256 = ?", [sha256]))
    if not rows:
        raise NotFound(_("No such media."))
    rows[0]["mime"] = mediaformats.mime(rows[0]["format"])
    return rows[0]


def upload(db, settings, store: MediaStore, chunks, name: str, actor: Actor) -> dict:
    """Validate and store an upload; nothing is stored when it is refused."""
    display = safe_display_name(name)
    try:
        sha, info = ingest(store, chunks, Limits.from_settings(settings))
    except MediaRejected as e:
        audit.record(db, actor, "media.refused", display, None, {"reason": e.code})
        raise AdminError(rejection_message(e), 413 if e.code == "too_large" else 400,
                         field="file") from None
    warning = None
    if info.kind == "video":
        decoder = decoders.detect(settings["media_decoder"])
        verdict = decoders.check(decoder, info.codec, info.width, info.height, info.extra.get("fps"))
        if verdict.refused:
            _forget(db, store, sha)
            audit.record(db, actor, "media.refused", display, None, {"reason": verdict.code})
            raise AdminError(_decoder_message(decoder, info, verdict), 400, field="file")
        if verdict.warning:
            warning = _decoder_message(decoder, info, verdict)
    row = {"sha256": sha, "kind": info.kind, "name": display, "format": info.format,
           "size": info.size, "duration_s": info.duration_s, "width": info.width,
           "height": info.height, "source": "local", "approved": 1, "created_at": iso(utcnow())}
    with writing(db):
        existing = list(db.query("SELECT * FROM media WHERE sha256 = ?", [sha]))
        if existing:
            return {**existing[0], "duplicate": True, **({"warning": warning} if warning else {})}
        db["media"].insert(row)
        audit.record(db, actor, "media.upload", display, None, row)
    return {**row, "warning": warning} if warning else row


def _forget(db, store: MediaStore, sha: str) -> None:
    # The refused file was already received into the store: drop it unless the
    # same bytes are a known media item (then they were there before).
    if not db.execute("SELECT 1 FROM media WHERE sha256 = ?", [sha]).fetchone():
        store.remove(sha)


def _decoder_message(decoder, info, verdict) -> str:
    codec = mediaformats.VIDEO_CODECS.get(info.codec or "", info.codec)
    limit = verdict.limit
    if verdict.code == "beyond_decoder":
        return _("This %(codec)s video is %(w)d×%(h)d pixels: a %(model)s cannot decode it smoothly "
                 "(at most %(lw)d×%(lh)d for %(codec)s). Re-encode it, e.g. ffmpeg -i IN -vf "
                 "scale=1920:-2 -c:v libx264 OUT.mp4.", codec=codec, w=info.width, h=info.height,
                 model=decoder.name, lw=limit.width, lh=limit.height)
    fps = f"{info.extra.get('fps'):g}"
    return _("Warning: this %(codec)s video has %(fps)s frames per second; a %(model)s shows at most "
             "%(limit)s smoothly, so it may stutter.", codec=codec, fps=fps,
             model=decoder.name, limit=int(limit.fps))


def delete(db, store: MediaStore, sha256: str, actor: Actor) -> None:
    media = get(db, sha256)
    if media["source"] != "local":
        raise Conflict(_("%(name)s comes from the central authority and cannot be deleted here.",
                         name=media["name"]))
    with writing(db):
        used = [r["name"] for r in db.query(
            "SELECT DISTINCT p.name FROM playlist_item i JOIN playlist p ON p.id = i.playlist_id "
            "WHERE i.media_sha256 = ? ORDER BY p.name", [sha256])]
        if used:
            raise Conflict(_("%(name)s is used by the playlist(s) %(lists)s; remove it from them first.",
                             name=media["name"], lists=", ".join(used)))
        db.execute("DELETE FROM media WHERE sha256 = ?", [sha256])
        audit.record(db, actor, "media.delete", media["name"], media, None)
    # The file goes after the row: a crash in between leaves an orphan file,
    # never a row pointing at nothing.
    store.remove(sha256)
