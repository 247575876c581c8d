"""The release document (`releases/<gate_id>.json`, docs/sync-protocol.md) and its checks.

The document has passed TUF (signed, fresh, the right hash) before it gets here, so
these checks are not about who wrote it but about what the gate is willing to put on
its screens: every id, time and reference must make sense, and nothing in it may
name a path. A document that fails any check is refused whole; the gate keeps its
last-known-good release.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.mediastore import SHA256_RE
from kiosk.schedule import LEVELS, ScheduleError, parse_time
from kiosk.schedule_entry import EntryError, check_entry
from kiosk.text.fonts import LANGUAGE_ORDER as LANGUAGES

FORMAT = 1
MEDIA_KINDS = ("video", "image", "text")
NOTICE_KINDS = ("ticker", "slide")
GATE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Ids from central are prefixed "c-" so they never collide with local ones.
CENTRAL_ID_RE = re.compile(r"^c-[A-Za-z0-9_.-]{1,64}$")
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_NAME = 200
MAX_TEXT = 4000
FACE_IDS = range(1, 5)


class ReleaseError(ValueError):
    """The release document is malformed or refers to something it must not."""


@dataclass(frozen=True)
class Release:
    gate_id: str
    version: int
    published_at: str
    doc: dict[str, Any]  # the validated document, as received

    @property
    def media(self) -> list[dict[str, Any]]:
        return self.doc["media"]

    @property
    def media_sha256s(self) -> list[str]:
        return [m["sha256"] for m in self.doc["media"]]


def target_path(gate_id: str) -> str:
    check_gate_id(gate_id)
    return f"releases/{gate_id}.json"


def media_target_path(sha256: str) -> str:
    if not isinstance(sha256, str) or not SHA256_RE.match(sha256):
        raise ReleaseError(f"not a sha256 media name: {sha256!r}")
    return f"media/{sha256}"


def check_gate_id(gate_id: str) -> str:
    if not isinstance(gate_id, str) or not GATE_ID_RE.match(gate_id):
        raise ReleaseError(
            f"gate id {gate_id!r} must be lower-case letters, digits and '-' (at most 63)"
        )
    return gate_id


def parse(data: bytes, gate_id: str) -> Release:
    """Bytes of a verified release target -> a checked `Release`, or ReleaseError."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ReleaseError(f"release document is {len(data)} bytes (at most {MAX_DOCUMENT_BYTES})")
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as e:
        raise ReleaseError(f"release document is not JSON: {e}") from None
    return validate(doc, gate_id)


def _no_constant(name):
    raise ValueError(f"{name} is not allowed")


def validate(doc: Any, gate_id: str) -> Release:
    _obj(doc, "release")
    if doc.get("format") != FORMAT:
        raise ReleaseError(f"release format {doc.get('format')!r} is not {FORMAT}")
    if doc.get("gate_id") != gate_id:
        raise ReleaseError(f"release is for gate {doc.get('gate_id')!r}, this gate is {gate_id!r}")
    version = doc.get("version")
    if not _is_int(version) or version < 1:
        raise ReleaseError(f"release version must be a positive integer, got {version!r}")
    _instant(doc.get("published_at"), "published_at", required=True)

    media = _list(doc, "media")
    known_media: set[str] = set()
    for i, m in enumerate(media):
        where = f"media[{i}]"
        _obj(m, where)
        sha = m.get("sha256")
        media_target_path(sha)  # only hex digests: no path can hide in here
        if sha in known_media:
            raise ReleaseError(f"{where}: media {sha} listed twice")
        known_media.add(sha)
        if m.get("kind") not in MEDIA_KINDS:
            raise ReleaseError(f"{where}: kind {m.get('kind')!r} is not one of {MEDIA_KINDS}")
        _text(m.get("name"), f"{where}.name", MAX_NAME)
        if not _is_int(m.get("size")) or m["size"] < 0:
            raise ReleaseError(f"{where}: size must be a non-negative integer")
        _seconds(m.get("duration_s"), f"{where}.duration_s")
        for dim in ("width", "height"):
            if m.get(dim) is not None and (not _is_int(m[dim]) or not 0 < m[dim] <= 16384):
                raise ReleaseError(f"{where}: {dim} must be 1..16384 or null")

    playlists = _list(doc, "playlists")
    playlist_ids: set[str] = set()
    for i, p in enumerate(playlists):
        where = f"playlists[{i}]"
        _obj(p, where)
        _unique_id(p, where, playlist_ids)
        _text(p.get("name"), f"{where}.name", MAX_NAME)
        items = p.get("items")
        if not isinstance(items, list):
            raise ReleaseError(f"{where}.items must be a list")
        for j, item in enumerate(items):
            _obj(item, f"{where}.items[{j}]")
            if item.get("media_sha256") not in known_media:
                raise ReleaseError(
                    f"{where}.items[{j}]: media {item.get('media_sha256')!r} is not in this release"
                )
            _seconds(item.get("duration_s"), f"{where}.items[{j}].duration_s")

    entry_ids: set[str] = set()
    for i, e in enumerate(_list(doc, "schedule_entries")):
        where = f"schedule_entries[{i}]"
        _obj(e, where)
        _unique_id(e, where, entry_ids)
        if e.get("playlist_id") not in playlist_ids:
            raise ReleaseError(f"{where}: playlist {e.get('playlist_id')!r} is not in this release")
        try:
            # The same rules as the gate admin and central (kiosk.schedule_entry).
            check_entry(e, faces=FACE_IDS)
        except EntryError as err:
            raise ReleaseError(f"{where}: {err}") from err

    fallback_faces: set[int] = set()
    for i, f in enumerate(_list(doc, "fallbacks")):
        where = f"fallbacks[{i}]"
        _obj(f, where)
        face = _face(f.get("face_id"), where)
        if face in fallback_faces:
            raise ReleaseError(f"{where}: face {face} has two fallbacks")
        fallback_faces.add(face)
        if f.get("playlist_id") not in playlist_ids:
            raise ReleaseError(f"{where}: playlist {f.get('playlist_id')!r} is not in this release")

    for i, w in enumerate(_list(doc, "power_windows")):
        where = f"power_windows[{i}]"
        _obj(w, where)
        _face(w.get("face_id"), where)
        _weekdays(w.get("weekdays"), where)
        _times(w, where)

    notice_ids: set[str] = set()
    for i, n in enumerate(_list(doc, "notices")):
        where = f"notices[{i}]"
        _obj(n, where)
        _unique_id(n, where, notice_ids)
        if n.get("kind") not in NOTICE_KINDS:
            raise ReleaseError(f"{where}: kind {n.get('kind')!r} is not one of {NOTICE_KINDS}")
        if n.get("level") not in LEVELS:
            raise ReleaseError(f"{where}: level {n.get('level')!r} is not one of {LEVELS}")
        texts = n.get("texts")
        if not isinstance(texts, dict) or not texts:
            raise ReleaseError(f"{where}.texts must be an object of language -> text")
        for lang, text in texts.items():
            if lang not in LANGUAGES:
                raise ReleaseError(f"{where}.texts: language {lang!r} is not one of {LANGUAGES}")
            _text(text, f"{where}.texts.{lang}", MAX_TEXT, multiline=True)
        _faces(n.get("faces", []), where, allow_empty=True)
        if not isinstance(n.get("style", {}), dict):
            raise ReleaseError(f"{where}.style must be an object")
        starts = _instant(n.get("starts_at"), f"{where}.starts_at")
        expires = _instant(n.get("expires_at"), f"{where}.expires_at")
        if starts and expires and expires <= starts:
            raise ReleaseError(f"{where}: expires_at is not after starts_at")

    _blank(doc.get("blank"))
    return Release(gate_id, version, doc["published_at"], doc)


def _blank(blank) -> None:
    """Central's kill switch (optional): who blanked or released, why, which faces."""
    if blank is None:
        return
    _obj(blank, "blank")
    if not isinstance(blank.get("active"), bool):
        raise ReleaseError("blank.active must be true or false")
    _faces(blank.get("faces", []), "blank", allow_empty=True)
    _text(blank.get("by"), "blank.by", MAX_NAME)
    _text(blank.get("reason"), "blank.reason", MAX_TEXT)
    _instant(blank.get("at"), "blank.at", required=True)


# ---- small checks ------------------------------------------------------------


def _obj(value, where):
    if not isinstance(value, dict):
        raise ReleaseError(f"{where} must be a JSON object")


def _list(doc, key):
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ReleaseError(f"{key} must be a list")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unique_id(obj, where, seen: set[str]) -> str:
    value = obj.get("id")
    if not isinstance(value, str) or not CENTRAL_ID_RE.match(value):
        raise ReleaseError(f"{where}: id {value!r} must look like 'c-<letters, digits, ._->'")
    if value in seen:
        raise ReleaseError(f"{where}: id {value} used twice")
    seen.add(value)
    return value


def _text(value, where, limit, multiline=False):
    if not isinstance(value, str) or len(value) > limit:
        raise ReleaseError(f"{where} must be text of at most {limit} characters")
    allowed = "\n" if multiline else ""
    if any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in value):
        raise ReleaseError(f"{where} contains control characters")


def _seconds(value, where):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and 0 < value <= 86400
    ):
        raise ReleaseError(f"{where} must be seconds in (0, 86400] or null")


def _face(value, where) -> int:
    if not _is_int(value) or value not in FACE_IDS:
        raise ReleaseError(f"{where}: face {value!r} is not 1..4")
    return value


def _faces(value, where, allow_empty):
    if not isinstance(value, list) or (not value and not allow_empty):
        raise ReleaseError(f"{where}.faces must be a {'' if allow_empty else 'non-empty '}list of 1..4")
    for f in value:
        _face(f, where)


def _weekdays(value, where):
    if value is None:
        return
    if not isinstance(value, list) or not value or not all(
        _is_int(d) and 0 <= d <= 6 for d in value
    ):
        raise ReleaseError(f"{where}.weekdays must be a non-empty list of 0..6 (0 = Monday)")


def _times(obj, where):
    try:
        parse_time(obj.get("start_time"))
        parse_time(obj.get("end_time"), allow_24=True)
    except ScheduleError as e:
        raise ReleaseError(f"{where}: {e}") from None


def _instant(value, where, required=False) -> datetime | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ReleaseError(f"{where} must be an ISO 8601 instant with an offset")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ReleaseError(f"{where}: {value!r} is not an ISO 8601 instant") from None
    if dt.tzinfo is None:
        raise ReleaseError(f"{where}: {value!r} has no UTC offset")
    return dt

