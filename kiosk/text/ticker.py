"""The ticker band: which ticker notices an output shows, as a message for ticker.lua.

The band itself is drawn by `ticker.lua` inside the output's mpv (loaded with
`--script=`), so it scrolls on across item changes; the controller only sends
it a new text when the set of ticker notices on that output changes. Each
language's text is split into font runs here and checked glyph by glyph, so
the band never shows a box: a text that fails is left out and reported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Iterable, Mapping

from kiosk.text.fonts import FontError, font_chain
from kiosk.text.notices import Notice, rank

SCRIPT_PATH = Path(__file__).with_name("ticker.lua")
SCRIPT_MESSAGE = "gatecast-ticker"
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
            segments.append([{"text": t, "font": f.family} for t, f in chain.runs(text)])
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
        "separator_font": font_chain("en", fonts).primary.family,
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


def command(band: dict | None) -> list[str]:
    """The mpv IPC command that sets (or, with None, removes) an output's band."""
    return ["script-message", SCRIPT_MESSAGE, json.dumps(band or {}, ensure_ascii=False, sort_keys=True)]
