"""Checks a media file before anything shows it: the admin's uploads and the
central server's content library both go through `ingest()`.

The file's own bytes decide what it is (magic bytes, then a real decode with
Pillow or a demux with ffprobe); its name and extension are never trusted and
are kept for display only. The stored file is named by its sha256.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from kiosk import mediaformats
from kiosk.mediaformats import VIDEO_CODECS
from kiosk.mediastore import MediaStore

PROBE_TIMEOUT_S = 120


class MediaRejected(ValueError):
    """A file that must not be stored. `code` names the reason for translation;
    `params` fill the message (sizes, limits, codec names)."""

    def __init__(self, code: str, message: str, **params: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024 * 1024
    max_pixels: int = 40_000_000  # 8K UHD is 33 MP; a decompression bomb is far above
    max_side: int = 16384
    max_duration_s: float = 4 * 3600.0
    min_duration_s: float = 0.1

    @classmethod
    def from_settings(cls, settings) -> "Limits":
        return cls(
            max_bytes=int(settings["media_max_mb"]) * 1024 * 1024,
            max_pixels=int(settings["media_max_pixels"]),
            max_duration_s=float(settings["media_max_duration_s"]),
        )


@dataclass
class MediaInfo:
    kind: str  # image | video
    format: str  # png | jpeg | webp | mp4 | mkv
    size: int
    width: int
    height: int
    duration_s: float | None = None  # videos only
    codec: str | None = None
    extra: dict = field(default_factory=dict)


def safe_display_name(name: str | None, max_chars: int = 120) -> str:
    """A file name from a browser or the network made harmless for display.

    Keeps only the last path component, drops control characters (NUL, newlines,
    bidi overrides), normalises Unicode and bounds the length. It is never used
    as a path: files are stored under their sha256.
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").split("/")[-1]
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    text = " ".join(text.split()).strip(". ")
    if len(text) > max_chars:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 8:
            text = stem[: max_chars - len(ext) - 2] + "…." + ext
        else:
            text = text[: max_chars - 1] + "…"
    return text or "unnamed"


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise MediaRejected(
            "too_large", "the file is larger than the limit",
            size_mb=round(size / 2**20, 1), limit_mb=limits.max_bytes // 2**20,
        )


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, format) from a file's first bytes (kiosk.mediaformats), or None."""
    f = mediaformats.sniff(head)
    return (f.kind, f.name) if f else None


def validate_file(path: Path | str, limits: Limits = Limits(), ffprobe: str = "ffprobe") -> MediaInfo:
    """Check a file completely; return what it is or raise MediaRejected."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected("empty", "the file is empty")
    _check_size(size, limits)
    with open(path, "rb") as f:
        head = f.read(16)
    sniffed = sniff(head)
    if sniffed is None:
        raise MediaRejected("not_media", "not a PNG, JPEG or WebP image nor an MP4 or MKV video")
    kind, fmt = sniffed
    if kind == "image":
        info = _check_image(path, fmt, limits)
    else:
        info = _check_video(path, fmt, limits, ffprobe)
    info.size = size
    return info


def _check_image(path: Path, fmt: str, limits: Limits) -> MediaInfo:
    from PIL import Image, UnidentifiedImageError

    # Pillow warns (and raises above twice its global limit) for huge images;
    # read the header size first and refuse against our own, lower limit before
    # anything is decoded.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=[mediaformats.by_name(fmt).pillow]) as img:
                width, height = img.size
                _check_pixels(width, height, limits)
                img.load()  # a full decode: truncated or corrupt data fails here
        except MediaRejected:
            raise
        except Image.DecompressionBombError:
            raise MediaRejected(
                "too_many_pixels", "the image has too many pixels",
                width=0, height=0, limit_mp=limits.max_pixels // 1_000_000,
            ) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise MediaRejected("corrupt", f"the image cannot be decoded: {e}") from None
    return MediaInfo("image", fmt, 0, width, height)


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width <= 0 or height <= 0:
        raise MediaRejected("corrupt", "the picture has no size")
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        raise MediaRejected(
            "too_many_pixels", "the picture has too many pixels",
            width=width, height=height, limit_mp=limits.max_pixels // 1_000_000,
        )


def _check_video(path: Path, fmt: str, limits: Limits, ffprobe: str) -> MediaInfo:
    # The demuxer is forced from the magic bytes and only local files may be
    # opened, so a hostile file cannot turn into a playlist that fetches URLs.
    demuxer = mediaformats.by_name(fmt).demuxer
    cmd = [
        ffprobe, "-v", "error", "-hide_banner", "-protocol_whitelist", "file",
        "-f", demuxer, "-count_packets", "-print_format", "json",
        "-show_format", "-show_streams", "file:" + str(path),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise MediaRejected("corrupt", "the video could not be checked in time") from None
    except FileNotFoundError:
        raise MediaRejected("no_prober", "ffprobe is not installed") from None
    errors = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise MediaRejected("corrupt", f"the video cannot be read: {_last_line(errors, path)}")
    try:
        probe = json.loads(proc.stdout or b"{}")
    except json.JSONDecodeError:
        raise MediaRejected("corrupt", "the video cannot be read") from None
    videos = [s for s in probe.get("streams", []) if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    if not videos:
        raise MediaRejected("corrupt", "the file has no video stream")
    stream = videos[0]
    codec = stream.get("codec_name") or "?"
    if codec not in VIDEO_CODECS:
        raise MediaRejected("codec", f"video codec {codec} is not H.264 or H.265", codec=codec)
    # A cut-off download still has a complete header when the index sits at
    # the front (faststart); reading every packet is what notices the missing
    # tail, and is cheap because nothing is decoded.
    read = _int(stream.get("nb_read_packets"))
    expected = _int(stream.get("nb_frames"))
    if errors or (expected and read is not None and read < expected):
        raise MediaRejected("truncated", f"the video is incomplete or damaged: {_last_line(errors, path)}")
    width, height = _int(stream.get("width")) or 0, _int(stream.get("height")) or 0
    _check_pixels(width, height, limits)
    duration = _float((probe.get("format") or {}).get("duration")) or _float(stream.get("duration"))
    if duration is None or duration < limits.min_duration_s:
        raise MediaRejected("bad_duration", "the video has no playable length")
    if duration > limits.max_duration_s:
        raise MediaRejected(
            "too_long", "the video is longer than the limit",
            duration_min=round(duration / 60, 1), limit_min=round(limits.max_duration_s / 60, 1),
        )
    # The frame rate tells whether the controller's decoder keeps up (kiosk/decoders.py).
    return MediaInfo("video", fmt, 0, width, height, round(duration, 3), codec,
                     extra={"fps": _rate(stream.get("avg_frame_rate") or stream.get("r_frame_rate"))})


def _rate(text) -> float | None:
    """ffprobe's "30000/1001" -> 29.97."""
    try:
        num, _, den = str(text).partition("/")
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return round(value, 3) if value > 0 else None


def _last_line(text: str, path: Path | None = None) -> str:
    """ffprobe's last complaint, fit for a user: without the server's file
    paths (the upload's temporary name) or the decoder's memory addresses
    ("[h264 @ 0x55cc…]"), which say nothing to a technician and tell an
    attacker about the server."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    line = lines[-1]
    if path is not None:
        line = line.replace("file:" + str(path), "the file").replace(str(path), "the file")
    line = _PROBE_PREFIX.sub("", line)
    line = _ABSOLUTE_PATH.sub("the file", line)
    line = _ADDRESS.sub("", line)
    return " ".join(line.split())[:200] or "unknown error"


_PROBE_PREFIX = re.compile(r"\[[^\]]*@\s*0x[0-9a-fA-F]+\]\s*")
_ABSOLUTE_PATH = re.compile(r"(?:file:)?/(?:[^\s:/]+/)*[^\s:/]+")
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


def _int(v) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _float(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def ingest(
    store: MediaStore,
    chunks: Iterable[bytes] | BinaryIO,
    limits: Limits = Limits(),
    ffprobe: str = "ffprobe",
) -> tuple[str, MediaInfo]:
    """Receive a file into the media store only if it validates.

    The bytes land in a temporary file inside the store (so a crash leaves only
    an `.incoming-*` file that `clean_incoming` removes); the size limit is
    enforced while receiving, so an oversized upload is cut off early. Returns
    (sha256, info); on MediaRejected nothing is left behind.
    """
    if hasattr(chunks, "read"):
        fileobj = chunks
        chunks = iter(lambda: fileobj.read(1 << 20), b"")
    fd, name = tempfile.mkstemp(dir=store.root, prefix=".incoming-")
    tmp = Path(name)
    try:
        received = 0
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                received += len(chunk)
                _check_size(received, limits)
                f.write(chunk)
        info = validate_file(tmp, limits, ffprobe)
        sha256 = store.adopt(tmp)
        return sha256, info
    finally:
        tmp.unlink(missing_ok=True)
