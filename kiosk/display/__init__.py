"""Display backends: where each picture's mpv window goes and how an output's
picture is captured. One small interface (`Display`), chosen by the `display`
setting:

- `sway`: the gate's kiosk compositor; windows placed through sway's IPC.
- `x11`: Xvfb and developers' desktops; windows placed with mpv --geometry.
- `headless`: no picture at all (--vo=null), for CI and the demo.
- `auto`: sway when WAYLAND_DISPLAY or SWAYSOCK is set, else x11 when DISPLAY
  is set, else headless. A display that is configured (or announced by the
  environment) but cannot be reached is never replaced by --vo=null: the
  player raises the `no_display` alarm and keeps retrying.
"""

from __future__ import annotations

import os
from typing import Mapping

from kiosk.display.base import Display, DisplayError
from kiosk.settings import Layout

__all__ = ["Display", "DisplayError", "choose", "open_display"]


def choose(setting: str, env: Mapping[str, str]) -> str:
    """The backend a `display` setting means in this environment."""
    if setting != "auto":
        return setting
    if env.get("SWAYSOCK") or env.get("WAYLAND_DISPLAY"):
        return "sway"
    if env.get("DISPLAY"):
        return "x11"
    return "headless"


def open_display(settings: Mapping, layout: Layout, env: Mapping[str, str] | None = None) -> Display:
    env = dict(os.environ if env is None else env)
    kind = choose(layout.display, env)
    if kind == "sway":
        from kiosk.display.sway import SwayDisplay
        return SwayDisplay(settings, layout, env)
    if kind == "x11":
        from kiosk.display.x11 import X11Display
        return X11Display(settings, layout, env)
    from kiosk.display.headless import HeadlessDisplay
    return HeadlessDisplay(settings, layout, env)
