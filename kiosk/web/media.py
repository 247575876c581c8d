"""What the upload check (kiosk/validate.py) refused, said in the reader's
language: the same clear messages in the gate admin and the central console."""

from __future__ import annotations

from flask_babel import gettext as _

from kiosk.validate import MediaRejected


def rejection_message(e: MediaRejected) -> str:
    """kiosk.validate's reasons in the user's language."""
    p = e.params
    messages = {
        "empty": lambda: _("The file is empty (0 bytes)."),
        "too_large": lambda: _("The file is %(size)s MB; the limit is %(limit)s MB.",
                               size=p.get("size_mb"), limit=p.get("limit_mb")),
        "not_media": lambda: _("This file is not a PNG, JPEG or WebP image nor an MP4 or MKV "
                               "video. Its content decides, not its name."),
        "corrupt": lambda: _("The file is damaged or incomplete and cannot be shown."),
        "truncated": lambda: _("The video is incomplete (cut off) or damaged."),
        "too_many_pixels": lambda: _("The picture is too large (%(w)s×%(h)s pixels); the limit "
                                     "is %(limit)s megapixels.", w=p["width"], h=p["height"],
                                     limit=p.get("limit_mp")) if p.get("width") else
        _("The picture is far too large; the limit is %(limit)s megapixels.", limit=p.get("limit_mp")),
        "codec": lambda: _("The video codec %(codec)s is not supported: use H.264 or H.265.",
                           codec=p.get("codec")),
        "bad_duration": lambda: _("The video has no playable length."),
        "too_long": lambda: _("The video lasts %(d)s minutes; the limit is %(limit)s minutes.",
                              d=p.get("duration_min"), limit=p.get("limit_min")),
        "no_prober": lambda: _("ffprobe is missing on the controller: videos cannot be checked."),
    }
    return messages.get(e.code, lambda: e.message)()
