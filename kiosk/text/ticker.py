"""The ticker band: which ticker notices a picture shows, rendered once, scrolled
in a window of its own.

`band_for` picks the notices and style; each language's text is split into
font runs and checked glyph by glyph, so the band never shows a box (a text
that fails is left out and reported). `render` draws the whole band once, with
Pillow and libraqm (HarfBuzz shaping, as for text slides), into a strip file.
`source` turns it into what the band's own mpv plays: a libavfilter graph
that moves a window of the strip along by whole pixels, one frame per display
refresh (kiosk/player/band.py). The band is a separate window over the
bottom (or top) rows of its picture's region, so the picture's item changes,
its frame rate and its decoder cannot hold or jerk it; the controller sends a
new strip only when the band's notices, style or size change
(docs/display.md, "The ticker band").
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Callable, Iterable, Mapping

from PIL import Image, ImageColor, ImageDraw

from kiosk.text import layout
from kiosk.text.fonts import FontError, font_chain
from kiosk.text.notices import Notice, rank

RENDERER_VERSION = "2"  # bump when the drawing changes: strip files are named by it
SEPARATOR = "   \u2022   "  # between languages and notices
TEXT_SCALE = 0.62  # font size as a fraction of the band's height
STRIP_PREFIX = "ticker-"
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")


def band_for(notices: Iterable[Notice], faces: Iterable[int], settings: Mapping,
             on_error: Callable[[Notice, FontError], None] | None = None) -> dict | None:
    """The band an output showing `faces` carries, or None for no band.

    Every current ticker notice on those faces scrolls by in turn, each in its
    languages in screen order; while an emergency ticker is on, only emergency
    tickers show, in the emergency colours.
    """
    faces = list(faces)
    shown = [n for n in notices if n.kind == "ticker" and any(n.on_face(f) for f in faces)]
    if any(n.level == "emergency" for n in shown):
        shown = [n for n in shown if n.level == "emergency"]
    shown.sort(key=lambda n: (-rank(n), n.starts_at.isoformat() if n.starts_at else "", n.id))
    fonts = settings.get("text_fonts") or {}
    segments = []
    for notice in shown:
        for lang in notice.languages():
            text = " ".join(notice.texts[lang].split())
            try:
                chain = font_chain(lang, fonts)
                chain.check(text)
            except FontError as e:
                if on_error:
                    on_error(notice, e)
                continue
            segments.append([{"text": t, "font": f.family, "lang": lang, "path": f.path, "index": f.index}
                             for t, f in chain.runs(text)])
    if not segments:
        return None
    style = shown[0].style
    emergency = shown[0].level == "emergency"
    background_default = (settings.get("text_emergency_background", "#B00020") if emergency
                          else settings.get("ticker_background", "#0B3D91"))
    return {
        "segments": segments,
        "position": _choice(style.get("position"), ("top", "bottom"),
                            _choice(settings.get("ticker_position"), ("top", "bottom"), "bottom")),
        "speed": _number(style.get("speed"), 10, 2000, _number(settings.get("ticker_speed_px_s"), 10, 2000, 120.0)),
        "height": _number(style.get("height"), 0.03, 0.3, _number(settings.get("ticker_height"), 0.03, 0.3, 0.08)),
        "color": _colour(style.get("color"), _colour(settings.get("ticker_color"), "#FFFFFF")),
        "background": _colour(style.get("background"), _colour(background_default, "#000000")),
        # Frames a second of the moving band; 0: the output's refresh rate.
        "fps": 0.0 if settings.get("ticker_fps") in (0, 0.0) else _number(settings.get("ticker_fps"), 5, 240, 0.0),
        "separator_font": font_chain("en", fonts).primary.path,
        "separator_index": font_chain("en", fonts).primary.index,
    }


# Styles come from releases and settings: a bad value falls back to the
# default instead of failing the band (colours must be #RRGGBB).
def _choice(value, allowed, default):
    return value if value in allowed else default


def _number(value, low, high, default):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default


def _colour(value, default):
    return value.upper() if isinstance(value, str) and _HEX.match(value) else default


def band_height(band: Mapping, height: int) -> int:
    return max(8, round(height * band["height"]))


class Strip:
    """The band's text laid out once: every language in turn, font run by font run.

    `height` is the band's own height in pixels. The baseline centres the
    separator font's line box, so scripts with taller marks (Lao, Khmer) sit
    on the same line as Vietnamese and English.
    """

    def __init__(self, band: Mapping, height: int):
        layout.require_raqm()
        self.band, self.height = band, height
        size = max(6, round(height * TEXT_SCALE))
        separator = layout.pil_font(band["separator_font"], band.get("separator_index", 0), size)
        ascent, descent = separator.getmetrics()
        self.baseline = round((height + ascent - descent) / 2)
        self.pieces: list[tuple[str, object, str | None]] = []
        for i, segment in enumerate(band["segments"]):
            if i:
                self.pieces.append((SEPARATOR, separator, None))
            for run in segment:
                self.pieces.append((run["text"], layout.pil_font(run["path"], run.get("index", 0), size),
                                    run.get("lang")))
        self.advances = [font.getlength(text, language=lang) for text, font, lang in self.pieces]
        self.width = max(1, math.ceil(sum(self.advances)))

    def draw(self) -> Image.Image:
        strip = Image.new("RGB", (self.width, self.height), ImageColor.getrgb(self.band["background"]))
        draw = ImageDraw.Draw(strip)
        fill = ImageColor.getrgb(self.band["color"])
        x = 0.0
        for (text, font, lang), advance in zip(self.pieces, self.advances):
            draw.text((x, self.baseline), text, font=font, anchor="ls", fill=fill, language=lang)
            x += advance
        return strip


def render(band: Mapping | None, width: int, height: int, folder: Path) -> dict | None:
    """Draw `band` for a picture of width x height into a strip file in `folder`.

    Returns what `source` needs (None for no band). The file (PNG) holds
    `width` pixels of empty band (the text enters from the right edge), then
    the text and a gap of a third of the width, repeated until a window of
    `width` pixels starting anywhere in the first period fits: so the band
    only ever moves a window, and it never empties once it has filled.
    The file is named by what it shows, so sending the same band again
    reuses it; strips no longer named are removed (`prune`).
    """
    if band is None:
        return None
    width, height = int(width), int(height)
    band_h = band_height(band, height)
    speed = band["speed"] * height / 1080  # the setting is in px/s at 1080 lines
    key = hashlib.sha256(json.dumps([RENDERER_VERSION, band, width, band_h], sort_keys=True,
                                    ensure_ascii=False).encode()).hexdigest()[:24]
    path = Path(folder) / f"{STRIP_PREFIX}{key}.png"
    text = Strip(band, band_h)
    period = text.width + max(1, width // 3)
    total = width + period + width
    if not path.exists():
        tile = Image.new("RGB", (period, band_h), ImageColor.getrgb(band["background"]))
        tile.paste(text.draw(), (0, 0))
        strip = Image.new("RGB", (total, band_h), ImageColor.getrgb(band["background"]))
        for x in range(width, total, period):
            strip.paste(tile, (x, 0))
        tmp = path.with_suffix(".tmp")
        strip.save(tmp, format="PNG", compress_level=1)
        os.replace(tmp, path)
    return {
        "image": str(path),
        "stride": total,  # the strip's width in pixels
        "width": width,  # the picture width it was drawn for (the band window's width)
        "height": band_h,
        "period": period,
        "lead": width,  # empty pixels before the first copy of the text
        "speed": speed,  # px/s at this picture's height
        "position": band["position"],
        "fps": band["fps"],  # 0: the output's refresh rate
    }


def rect(message: Mapping, region) -> tuple[int, int, int, int]:
    """Where the band window goes in its picture's output: x, y, width, height
    (the bottom or top rows of the picture's region)."""
    y = region.y if message["position"] == "top" else region.y + region.height - message["height"]
    return region.x, y, message["width"], message["height"]


def source(message: Mapping, fps: float) -> str:
    """The mpv URL of the moving band: a libavfilter graph that shows a
    `width`-wide window of the strip, `fps` frames a second, the window
    `speed * n / fps` pixels along at frame n (whole pixels). mpv presents
    these frames in step with the display (--video-sync=display-resample),
    so the band moves the same distance at every refresh; nothing is drawn
    again but one crop per frame (a pointer into the strip, no copy)."""
    image = message["image"]
    if not _SAFE_PATH.match(image):  # the graph has its own quoting; our own folder never needs it
        raise ValueError(f"unexpected characters in the strip's path: {image!r}")
    rate = f"{float(fps):g}"
    # From the frame number, not its time: n/fps in floating point can land
    # a hair under a whole pixel and make a 1 px jitter.
    travelled = f"(n*{float(message['speed']):.6f}/{rate}+0.000001)"
    lead, period = int(message["lead"]), int(message["period"])
    # The lead is shown once (the text enters from the right edge), then the
    # strip repeats every period.
    x = (f"if(lt({travelled}\\,{lead + period})\\,floor({travelled})\\,"
         f"{lead}+floor(mod({travelled}-{lead}\\,{period})))")
    # And silence beside it: its audio clock (mpv's null audio output runs in
    # real time) is what the frames are kept in step with. Without a clock of
    # its own the band would follow the display's refreshes and slow down with
    # a compositor that misses some; with it, a missed refresh costs one frame.
    graph = (f"movie={image},loop=loop=-1:size=1:start=0,settb=1/{rate},setpts=N,fps={rate},"
             f"crop=w={int(message['width'])}:h={int(message['height'])}:x='{x}':y=0[out0];"
             "anullsrc=r=8000:cl=mono[out1]")
    return "av://lavfi:" + graph


def prune(folder: Path, keep: Iterable[str]) -> None:
    """Remove strip files not in `keep` (paths): a band's mpv reads its strip once, at load."""
    keep = {str(k) for k in keep}
    for path in Path(folder).glob(f"{STRIP_PREFIX}*.png"):
        if str(path) not in keep:
            path.unlink(missing_ok=True)
