"""Item resolution: a schedule item (sha256 + kind + duration) becomes something
mpv can play (a file path plus per-item mpv options), or the reason it cannot.

This is the seam for new media kinds: the `gatecast.resolvers` entry points
(pyproject.toml) map a media kind to a function `resolve(item, ctx) -> Playable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from kiosk import mediaformats
from kiosk.entrypoints import resolver
from kiosk.mediastore import MediaStore, MediaStoreError
from kiosk.schedule import Item


class Unplayable(Exception):
    """This item cannot be shown; the message is the reason recorded."""


@dataclass(frozen=True)
class Playable:
    """One entry of an output's mpv playlist."""

    item: Item
    path: str
    kind: str  # what mpv sees: image | video
    duration_s: float | None  # None: to the end (videos)
    options: tuple[tuple[str, str], ...] = ()  # extra per-file mpv options

    def mpv_options(self) -> dict[str, str]:
        opts = dict(self.options)
        if self.duration_s is not None:
            if self.kind == "image":
                opts["image-display-duration"] = f"{self.duration_s:.3f}"
            else:
                # A duration on a video cuts it (playlist item override).
                opts["length"] = f"{self.duration_s:.3f}"
        return opts


@dataclass
class ResolveContext:
    media: MediaStore
    cache_dir: Path  # resolvers that generate files (text) write here
    output: Mapping  # the output the item will show on (name, width, height)
    media_rows: Mapping[str, Mapping] = field(default_factory=dict)  # sha256 -> media row
    settings: Mapping | None = None


Resolver = Callable[[Item, ResolveContext], Playable]


def _media_file(item: Item, ctx: ResolveContext) -> Path:
    try:
        path = ctx.media.path(item.media_sha256)
    except MediaStoreError as e:
        raise Unplayable(str(e)) from None
    if not path.is_file():
        raise Unplayable(f"media file {item.media_sha256[:12]} is missing from the media store")
    return path


def _format(item: Item, ctx: ResolveContext) -> str:
    row = ctx.media_rows.get(item.media_sha256) or {}
    return (row.get("format") or "").lower().lstrip(".")


def _is_format(fmt: str, kind: str) -> bool:
    """mpv is only asked to play the formats of kiosk.mediaformats' table."""
    f = mediaformats.by_name(fmt)
    return f is not None and f.kind == kind


def resolve_video(item: Item, ctx: ResolveContext) -> Playable:
    fmt = _format(item, ctx)
    if fmt and not _is_format(fmt, "video"):
        raise Unplayable(f"unsupported video format {fmt!r}")
    return Playable(item, str(_media_file(item, ctx)), "video", item.duration_s)


def resolve_image(item: Item, ctx: ResolveContext) -> Playable:
    fmt = _format(item, ctx)
    if fmt and not _is_format(fmt, "image"):
        raise Unplayable(f"unsupported image format {fmt!r}")
    duration = item.duration_s if item.duration_s is not None else 10.0
    return Playable(item, str(_media_file(item, ctx)), "image", duration)


def resolve_item(item: Item, ctx: ResolveContext) -> Playable:
    """Resolve one item or raise Unplayable with the reason to record."""
    resolve = resolver(item.kind)
    if resolve is None:
        raise Unplayable(f"unsupported media kind {item.kind!r}")
    try:
        return resolve(item, ctx)
    except Unplayable:
        raise
    except Exception as e:  # a resolver bug must cost one item, not the face
        raise Unplayable(f"{item.kind} resolver failed: {e}") from e
