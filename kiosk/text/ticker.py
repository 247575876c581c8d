"""The ticker band: which ticker notices a picture shows, rendered once, scrolled by mpv.

`band_for` picks the notices and style; each language's text is split into
font runs and checked glyph by glyph, so the band never shows a box (a text
that fails is left out and reported). `render` draws the whole band once, with
Pillow and libraqm (HarfBuzz shaping, as for text slides), into a raw BGRA
strip file. `ticker.lua`, loaded into the picture's mpv with `--script=`,
shows a picture-wide window of that strip with mpv's `overlay-add` and moves
the window by whole pixels from mpv's clock: per redraw mpv copies one band
of pixels instead of laying out and rasterising the text again, which is
what made the band stutter under software rendering (docs/benchmarks.md).
The band lives in mpv, so it scrolls on across item changes; the controller
sends a new strip only when the band's notices, style or size change.
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

SCRIPT_PATH = Path(__file__).with_name("ticker.lua")
SCRIPT_MESSAGE = "gatecast-ticker"
RENDERER_VERSION = "1"  # bump when the drawing changes: strip files are named by it
SEPARATOR = "   \u2022   "  # between languages and notices
TEXT_SCALE = 0.62  # font size as a fraction of the band's height
STRIP_PREFIX = "ticker-"
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


def script_args() -> list[str]:
    """mpv arguments that load the ticker into an output's mpv."""
    return [f"--script={SCRIPT_PATH}"]


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
        "fps": _number(settings.get("ticker_fps"), 5, 240, 50.0),
        "separator_font": font_chain("en", fonts).primary.path,
        "separator_index": font_chain("en", fonts).primary.index,
    }


# Styles come from releases and settings: a bad value falls back to the
# default instead of failing the band (ticker.lua only takes #RRGGBB).
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

    Returns the message ticker.lua takes (None for no band). The file holds
    `width` pixels of empty band (the text enters from the right edge), then
    the text and a gap of a third of the width, repeated until a window of
    `width` pixels starting anywhere in the first period fits: so the script
    only ever moves a window, and the band never empties once it has filled.
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
    path = Path(folder) / f"{STRIP_PREFIX}{key}.bgra"
    text = Strip(band, band_h)
    period = text.width + max(1, width // 3)
    total = width + period + width
    if not path.exists():
        tile = Image.new("RGB", (period, band_h), ImageColor.getrgb(band["background"]))
        tile.paste(text.draw(), (0, 0))
        strip = Image.new("RGB", (total, band_h), ImageColor.getrgb(band["background"]))
        for x in range(width, total, period):
            strip.paste(tile, (x, 0))
        strip.putalpha(255)  # opaque: premultiplied BGRA is then plain BGRA
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(strip.tobytes("raw", "BGRA"))
        os.replace(tmp, path)
    return {
        "image": str(path),
        "stride": total,  # pixels per row of the file
        "width": width,  # the picture width it was drawn for (the window's width)
        "height": band_h,
        "period": period,
        "lead": width,  # empty pixels before the first copy of the text
        "speed": speed,  # px/s at this picture's height
        "position": band["position"],
        "fps": band["fps"],
    }


def prune(folder: Path, keep: Iterable[str]) -> None:
    """Remove strip files not in `keep` (paths): mpv maps the file anew at every move."""
    keep = {str(k) for k in keep}
    for path in Path(folder).glob(f"{STRIP_PREFIX}*.bgra"):
        if str(path) not in keep:
            path.unlink(missing_ok=True)


def command(message: dict | None) -> list[str]:
    """The mpv IPC command that sets (or, with None, removes) a picture's band.

    `message` is what `render` returned.
    """
    return ["script-message", SCRIPT_MESSAGE, json.dumps(message or {}, ensure_ascii=False, sort_keys=True)]
