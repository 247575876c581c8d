"""Text slides: the JSON spec stored as `text` media, and its rendering to PNG.

A slide spec (UTF-8 JSON; its sha256 names it in the media store like any media):

    {"format": "gatecast.slide/1",
     "title": {"vi": "THÔNG BÁO", "en": "NOTICE"},      # optional
     "body":  {"vi": "...", "lo": "...", "en": "..."},   # at least one language
     "languages": ["vi", "lo", "en"],  # optional order, at most 3; default vi, neighbour, en
     "layout": "stacked" | "in_turn",  # all languages at once, or one after another
     "background": "#0B3D91", "background_image": "<sha256 of an image>" | null,
     "shade": 0.4,                     # darken a background image (0..1) for legibility
     "color": "#FFFFFF", "align": "center" | "left",
     "duration_s": 15}

The player renders a spec at its output's resolution into a PNG cache named by
the spec, the size, the fonts and the renderer version; "in_turn" slides become
one PNG per language played as an mpv image sequence (`mf://`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from PIL import Image, ImageColor, ImageDraw, ImageOps

from kiosk.text import layout
from kiosk.text.fonts import (
    LANGUAGES,
    FontChain,
    FontError,
    check_language_texts,
    font_chain,
    sort_languages,
)

SPEC_FORMAT = "gatecast.slide/1"
RENDERER_VERSION = "1"  # bump when the drawing changes, so caches re-render
MAX_LANGUAGES = 3
MARGIN = 0.06  # safe area on every side, as a fraction of the face's height
TITLE_SCALE = 1.3
CACHE_FILES = 600  # rendered PNGs (and their .json) kept before the oldest go


class SlideError(ValueError):
    """A slide spec is malformed, or cannot be rendered (fonts, size). A
    malformed spec also has a `code` and `params`, so that a user interface
    says it in the reader's language (central.checks.SENTENCES)."""

    def __init__(self, message: str = "", code: str | None = None, **params):
        super().__init__(message)
        self.code, self.params = code, params


@dataclass(frozen=True)
class SlideSpec:
    body: dict[str, str]
    title: dict[str, str] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    layout: str = "stacked"
    background: str = "#0B3D91"
    background_image: str | None = None
    shade: float = 0.4
    color: str = "#FFFFFF"
    align: str = "center"
    duration_s: float | None = None

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"format": SPEC_FORMAT, "title": self.title, "body": self.body,
                               "languages": list(self.languages), "layout": self.layout,
                               "background": self.background, "background_image": self.background_image,
                               "shade": self.shade, "color": self.color, "align": self.align,
                               "duration_s": self.duration_s}
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1).encode()


def _colour(value: object, what: str) -> str:
    try:
        ImageColor.getrgb(str(value))
    except ValueError:
        raise SlideError(f"{what} must be a colour like '#0B3D91', got {value!r}",
                         "slide_colour", value=str(value)) from None
    return str(value)


def _texts(value: object, what: str) -> dict[str, str]:
    try:
        return check_language_texts(value, what)
    except FontError as e:
        raise SlideError(str(e), e.code, **e.params) from None


def parse_spec(data: bytes | str | Mapping) -> SlideSpec:
    """Validate a slide spec from a file, a release or a user; SlideError says what is wrong."""
    if isinstance(data, (bytes, str)):
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise SlideError(f"a slide spec must be JSON: {e}", "slide_json") from None
    else:
        doc = dict(data)
    if not isinstance(doc, dict):
        raise SlideError("a slide spec must be a JSON object", "slide_object")
    if doc.get("format", SPEC_FORMAT) != SPEC_FORMAT:
        raise SlideError(f"unknown slide format {doc.get('format')!r} (this player reads {SPEC_FORMAT})",
                         "slide_format", value=str(doc.get("format")), reads=SPEC_FORMAT)
    body = _texts(doc.get("body"), "body")
    title = _texts(doc.get("title"), "title")
    if not body and not title:
        raise SlideError("a slide needs a body or a title in at least one language", "slide_empty")
    langs = doc.get("languages") or sort_languages(set(body) | set(title))
    if not isinstance(langs, list) or len(set(langs)) != len(langs):
        raise SlideError("languages must be a list of distinct language codes", "slide_languages")
    for lang in langs:
        if lang not in LANGUAGES:
            raise SlideError(f"unknown language {lang!r} in languages", "text_language",
                             value=str(lang))
        if lang not in body and lang not in title:
            raise SlideError(f"languages lists {lang!r} but the slide has no {lang} text",
                             "slide_language_text", lang=lang)
    if len(langs) > MAX_LANGUAGES:
        raise SlideError(f"a slide shows at most {MAX_LANGUAGES} languages, got {len(langs)}: {', '.join(langs)}",
                         "slide_too_many", most=MAX_LANGUAGES, count=len(langs))
    mode = doc.get("layout", "stacked")
    if mode not in ("stacked", "in_turn"):
        raise SlideError(f"layout must be 'stacked' or 'in_turn', got {mode!r}", "slide_layout",
                         value=str(mode))
    align = doc.get("align", "center")
    if align not in ("center", "left"):
        raise SlideError(f"align must be 'center' or 'left', got {align!r}", "slide_align",
                         value=str(align))
    duration = doc.get("duration_s")
    if duration is not None and (not isinstance(duration, (int, float)) or not 1 <= duration <= 3600):
        raise SlideError(f"duration_s must be 1..3600 seconds, got {duration!r}", "slide_duration",
                         value=str(duration))
    shade = doc.get("shade", 0.4)
    if not isinstance(shade, (int, float)) or not 0 <= shade <= 1:
        raise SlideError(f"shade must be between 0 and 1, got {shade!r}", "slide_shade",
                         value=str(shade))
    image = doc.get("background_image")
    if image is not None:
        from kiosk.mediastore import MediaStoreError, check_sha256

        try:
            check_sha256(image)
        except MediaStoreError as e:
            raise SlideError(f"background_image: {e}", "sha256_format", value=str(image)) from None
    return SlideSpec(
        body=body, title=title, languages=tuple(langs), layout=mode,
        background=_colour(doc.get("background", "#0B3D91"), "background"),
        background_image=image, shade=float(shade),
        color=_colour(doc.get("color", "#FFFFFF"), "color"), align=align,
        duration_s=None if duration is None else float(duration),
    )


# ---- rendering ---------------------------------------------------------------


@dataclass
class Rendered:
    """The PNG(s) of one slide at one size, and where their text landed."""

    paths: list[Path]
    # One dict per image: language -> ink bounding box (x0, y0, x1, y1).
    regions: list[dict[str, tuple[int, int, int, int]]]


@dataclass
class _Band:
    lang: str
    title: layout.Laid | None
    body: layout.Laid | None

    @property
    def height(self) -> int:
        h = self.title.height if self.title else 0
        if self.title and self.body:
            h += self.body.size // 2
        return h + (self.body.height if self.body else 0)


def _bands(spec: SlideSpec, langs, chains, size: int, width: float) -> list[_Band] | None:
    bands = []
    for lang in langs:
        regular, bold = chains[lang]
        title = body = None
        if lang in spec.title:
            title = layout.layout(spec.title[lang], bold, round(size * TITLE_SCALE), width)
            if title is None:
                return None
        if lang in spec.body:
            body = layout.layout(spec.body[lang], regular, size, width)
            if body is None:
                return None
        bands.append(_Band(lang, title, body))
    return bands


def _fit(spec: SlideSpec, langs, chains, width: int, height: int) -> tuple[int, list[_Band]]:
    """The largest body size at which every band fits the safe area."""

    def fits(size):
        bands = _bands(spec, langs, chains, size, width)
        if bands is None:
            return None
        total = sum(b.height for b in bands) + size * (len(bands) - 1)
        return bands if total <= height else None

    lo, hi = 8, max(9, height // 4)
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        bands = fits(mid)
        if bands is not None:
            best, lo = (mid, bands), mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise SlideError(f"the text does not fit a {width}x{height} area even at 8 px; shorten it",
                         "slide_fit", width=width, height=height)
    return best


def _background(spec: SlideSpec, size: tuple[int, int], media_dir: Path | None) -> Image.Image:
    if spec.background_image:
        path = (media_dir / spec.background_image) if media_dir else None
        if path is None or not path.is_file():
            raise SlideError(f"background image {spec.background_image[:12]} is not in the media store",
                             "slide_background_missing", value=spec.background_image[:12])
        with Image.open(path) as src:
            image = ImageOps.fit(src.convert("RGB"), size)
        if spec.shade:
            image = Image.blend(image, Image.new("RGB", size, "black"), spec.shade)
        return image
    return Image.new("RGB", size, spec.background)


def _chains(spec: SlideSpec, langs, fonts: Mapping | None) -> dict[str, tuple[FontChain, FontChain]]:
    """Resolve fonts and prove coverage before drawing a pixel."""
    chains = {}
    for lang in langs:
        regular, bold = font_chain(lang, fonts), font_chain(lang, fonts, bold=True)
        if lang in spec.body:
            regular.check(spec.body[lang])
        if lang in spec.title:
            bold.check(spec.title[lang])
        chains[lang] = (regular, bold)
    return chains


def render_images(spec: SlideSpec, width: int, height: int, fonts: Mapping | None = None,
                  media_dir: Path | None = None) -> tuple[list[Image.Image], list[dict]]:
    """Draw the slide: one image (stacked) or one per language (in turn)."""
    layout.require_raqm()
    if width < 64 or height < 64:
        raise SlideError(f"a face of {width}x{height} is too small for a text slide")
    try:
        chains = _chains(spec, spec.languages, fonts)
    except FontError as e:
        raise SlideError(str(e)) from None
    margin = round(MARGIN * min(width, height))
    box_w, box_h = width - 2 * margin, height - 2 * margin
    groups = [list(spec.languages)] if spec.layout == "stacked" else [[lang] for lang in spec.languages]
    fitted = [_fit(spec, g, chains, box_w, box_h) for g in groups]
    # In turn: one size for every language, so the slides look like one notice.
    common = min(size for size, _ in fitted)
    images, regions = [], []
    for group, (size, bands) in zip(groups, fitted):
        if size != common:
            bands = _bands(spec, group, chains, common, box_w)
        image = _background(spec, (width, height), media_dir)
        pen = ImageDraw.Draw(image)
        total = sum(b.height for b in bands) + common * (len(bands) - 1)
        y = margin + (box_h - total) / 2
        found = {}
        for band in bands:
            boxes = []
            if band.title:
                boxes.append(layout.draw(pen, band.title, margin, y, box_w, spec.align, spec.color))
                y += band.title.height + (common // 2 if band.body else 0)
            if band.body:
                boxes.append(layout.draw(pen, band.body, margin, y, box_w, spec.align, spec.color))
                y += band.body.height
            y += common
            boxes = [b for b in boxes if b[2] > b[0]]
            if boxes:
                found[band.lang] = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                                    max(b[2] for b in boxes), max(b[3] for b in boxes))
        images.append(image)
        regions.append(found)
    return images, regions


def cache_key(spec: SlideSpec, width: int, height: int, fonts: Mapping | None) -> str:
    chains = [(c.path, c.index) for lang in spec.languages
              for bold in (False, True) for c in font_chain(lang, fonts, bold).faces]
    h = hashlib.sha256()
    h.update(spec.to_json())
    h.update(json.dumps([RENDERER_VERSION, width, height, chains]).encode())
    return h.hexdigest()[:32]


def render(spec: SlideSpec, width: int, height: int, cache_dir: Path, fonts: Mapping | None = None,
           media_dir: Path | None = None) -> Rendered:
    """Render into `cache_dir` unless already there; returns the PNG paths."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        key = cache_key(spec, width, height, fonts)
    except FontError as e:
        raise SlideError(str(e)) from None
    count = 1 if spec.layout == "stacked" else len(spec.languages)
    paths = [cache_dir / f"slide-{key}-{i}.png" for i in range(count)]
    meta = cache_dir / f"slide-{key}.json"
    if all(p.is_file() for p in paths) and meta.is_file():
        regions = [{k: tuple(v) for k, v in r.items()} for r in json.loads(meta.read_text())]
        return Rendered(paths, regions)
    images, regions = render_images(spec, width, height, fonts, media_dir)
    for image, path in zip(images, paths):
        _write_atomic(path, lambda f, image=image: image.save(f, "PNG"))
    _write_atomic(meta, lambda f: f.write(json.dumps(regions).encode()))
    prune_cache(cache_dir, keep=set(paths) | {meta})
    return Rendered(paths, regions)


def prune_cache(cache_dir: Path, keep: set[Path], limit: int | None = None) -> None:
    """Drop the oldest renders once the cache holds more than `limit` files,
    so months of changing notices cannot fill the controller's card."""
    limit = CACHE_FILES if limit is None else limit
    files = [p for p in cache_dir.glob("slide-*") if p not in keep]
    if len(files) + len(keep) <= limit:
        return
    files.sort(key=lambda p: p.stat().st_mtime)
    for p in files[: len(files) + len(keep) - limit]:
        p.unlink(missing_ok=True)


def _write_atomic(path: Path, write) -> None:
    # A player killed mid-write must not leave a half PNG under the final name.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
