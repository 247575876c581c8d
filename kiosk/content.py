"""Small library for putting local content into the gate database: media files
into the media store (their format from kiosk.mediaformats), playlists, schedule
entries (checked and written by kiosk.schedule_entry), fallbacks. Used by the
demo, the admin, tests and benchmarks.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Iterable, Sequence

from kiosk import mediaformats, schedule_entry
from kiosk.mediastore import MediaStore
from kiosk.store import iso, utcnow, writing

class ContentError(ValueError):
    pass


def probe_duration(path: Path | str) -> float | None:
    """A video's duration by ffprobe, or None when it cannot tell."""
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
            capture_output=True, text=True, timeout=30, check=False,
        )
        return float(json.loads(out.stdout)["format"]["duration"])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


def add_media(db, store: MediaStore, path: Path | str, name: str | None = None,
              kind: str | None = None, duration_s: float | None = None,
              source: str = "local") -> str:
    """Copy a file into the media store and describe it in `media`; returns its sha256."""
    path = Path(path)
    if not path.is_file():
        raise ContentError(f"no such file: {path}")
    fmt = mediaformats.by_suffix(path.name)
    kind = kind or (fmt and fmt.kind)
    if kind not in ("video", "image", "text"):
        raise ContentError(f"cannot tell the media kind of {path.name}; say kind=video|image|text")
    if kind == "text":
        # A slide spec is checked before it is stored, and its own duration
        # becomes the media's hold time unless the caller gives one.
        from kiosk.text.slide import SlideError, parse_spec

        try:
            spec = parse_spec(path.read_bytes())
        except SlideError as e:
            raise ContentError(f"{path.name}: {e}") from None
        if duration_s is None:
            duration_s = spec.duration_s
    sha = store.add_file(path)
    if duration_s is None and kind == "video":
        duration_s = probe_duration(store.path(sha))
    db["media"].upsert(
        {
            "sha256": sha, "kind": kind, "name": name or path.name,
            "format": fmt.name if fmt else path.suffix.lower().lstrip("."), "size": path.stat().st_size,
            "duration_s": duration_s, "source": source, "approved": 1,
            "created_at": iso(utcnow()),
        },
        pk="sha256",
    )
    return sha


def set_playlist(db, playlist_id: str, name: str,
                 items: Sequence[tuple[str, float | None]], source: str = "local") -> str:
    """Create or replace a playlist: items are (sha256, duration override or None)."""
    with writing(db):
        db["playlist"].upsert({"id": playlist_id, "name": name, "source": source,
                               "created_at": iso(utcnow())}, pk="id")
        db.execute("DELETE FROM playlist_item WHERE playlist_id = ?", [playlist_id])
        for position, (sha, duration) in enumerate(items):
            db["playlist_item"].insert({"playlist_id": playlist_id, "position": position,
                                        "media_sha256": sha, "duration_s": duration})
    return playlist_id


def add_schedule_entry(db, playlist_id: str, faces: Iterable[int], start_time: str = "00:00",
                       end_time: str = "00:00", level: str = "normal",
                       weekdays: Iterable[int] = range(7), start_date: str | None = None,
                       end_date: str | None = None, name: str = "", entry_id: str | None = None,
                       not_before=None, not_after=None, source: str = "local") -> str:
    """Add a schedule entry, checked and written by kiosk.schedule_entry (an
    EntryError says what is wrong); returns its id."""
    clean = schedule_entry.check_entry({
        "name": name, "faces": list(faces), "weekdays": list(weekdays), "start_time": start_time,
        "end_time": end_time, "level": level, "start_date": start_date, "end_date": end_date,
        "not_before": not_before, "not_after": not_after,
    })
    entry_id = entry_id or uuid.uuid4().hex[:12]
    return schedule_entry.insert(db, entry_id, playlist_id, clean, source=source)


def set_fallback(db, face_id: int, playlist_id: str | None) -> None:
    if playlist_id is None:
        db.execute("DELETE FROM face_fallback WHERE face_id = ?", [face_id])
    else:
        db["face_fallback"].upsert({"face_id": face_id, "playlist_id": playlist_id,
                                    "source": "local"}, pk="face_id")
