"""No display: mpv decodes (so timing, proof of play and screenshots of the
decoded frame work) but shows nothing. CI and the demo without a screen."""

from __future__ import annotations

from kiosk.display.base import Display
from kiosk.settings import Picture


class HeadlessDisplay(Display):
    name = "headless"
    captures_outputs = False

    def mpv_args(self, picture: Picture) -> list[str]:
        return ["--vo=null", "--ao=null"]
