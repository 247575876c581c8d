"""The media formats gatecast stores and plays: one table for every part.

kiosk.validate recognises uploads by these magic bytes and checks them with the
Pillow format or ffprobe demuxer named here; kiosk.content tells a local file's
format by its name ending (the demo, CLI and benches add files the user names);
the player refuses an item whose format is not here; the admin serves each with
its MIME type. A media row's `format` column holds a `MediaFormat.name`.

Videos must also use a codec the Pi decodes in hardware (VIDEO_CODECS), which only
a probe can tell (kiosk.validate).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaFormat:
    name: str  # the `format` column
    kind: str  # image | video | text (a slide spec the text engine renders)
    mime: str
    suffixes: tuple[str, ...]  # name endings that say this format (local files only)
    pillow: str | None = None  # Pillow's format name (images): the decoder used to check it
    demuxer: str | None = None  # ffprobe's demuxer (videos), forced: never guessed from the file
    label: str = ""  # how people call it


FORMATS: tuple[MediaFormat, ...] = (
    MediaFormat("png", "image", "image/png", (".png",), pillow="PNG", label="PNG"),
    MediaFormat("jpeg", "image", "image/jpeg", (".jpg", ".jpeg"), pillow="JPEG", label="JPEG"),
    MediaFormat("webp", "image", "image/webp", (".webp",), pillow="WEBP", label="WebP"),
    # mov is the demuxer of the whole ISO family (MP4, QuickTime, M4V).
    MediaFormat("mp4", "video", "video/mp4", (".mp4", ".m4v", ".mov"), demuxer="mov", label="MP4"),
    # WebM is a Matroska profile.
    MediaFormat("mkv", "video", "video/x-matroska", (".mkv", ".webm"), demuxer="matroska",
                label="MKV"),
    MediaFormat("json", "text", "application/json", (".json",), label="text slide (JSON)"),
)

# Video codecs a Raspberry Pi decodes in hardware (DESIGN.md: H.264/H.265).
VIDEO_CODECS = {"h264": "H.264", "hevc": "H.265"}

_BY_NAME = {f.name: f for f in FORMATS}
_BY_SUFFIX = {s: f for f in FORMATS for s in f.suffixes}


def by_name(name: str | None) -> MediaFormat | None:
    """The format a media row names. Rows written before the table (a `format` taken
    from the file's ending, like 'jpg' or 'mov') are read by that ending."""
    key = (name or "").lower().lstrip(".")
    return _BY_NAME.get(key) or _BY_SUFFIX.get("." + key)


def by_suffix(filename: str) -> MediaFormat | None:
    """The format a local file's name says, or None."""
    dot = filename.rfind(".")
    return _BY_SUFFIX.get(filename[dot:].lower()) if dot >= 0 else None


def sniff(head: bytes) -> MediaFormat | None:
    """The format a file's first 16 bytes prove (images and videos; a slide spec is
    JSON text and has no magic)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _BY_NAME["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return _BY_NAME["jpeg"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _BY_NAME["webp"]
    if head[4:8] == b"ftyp":
        return _BY_NAME["mp4"]
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _BY_NAME["mkv"]
    return None


def mime(name: str | None) -> str:
    f = by_name(name)
    return f.mime if f else "application/octet-stream"


def of_kind(kind: str) -> tuple[MediaFormat, ...]:
    return tuple(f for f in FORMATS if f.kind == kind)
