""""Identify": every face shows its number and name in large type for a few
seconds, so a technician on the ground can match faces to the physical sides.

The admin's button and `gatecast faces identify` call `request_identify`,
which writes the desired state (`state` row 'identify': until when); the
player's `IdentifyPlugin` reads it on every pass and lays the text over each
picture's mpv (an OSD overlay: it shows over whatever plays, a black picture
included, and goes away by itself when the time is up).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kiosk.player.ipc import MpvError
from kiosk.player.plugins import PictureStatus, PlayerPlugin
from kiosk.store import get_state, iso, log_event, set_state, utcnow
from kiosk.web.i18n import N_, Refusal

STATE_KEY = "identify"
OVERLAY_ID = 60  # mpv osd-overlay id in the picture's mpv
DEFAULT_S = 10.0
MAX_S = 600.0


class IdentifyError(Refusal):
    """English str(), `say(gettext)` in the reader's language."""


def request_identify(db, seconds: float = DEFAULT_S, by: str = "") -> datetime:
    """Ask the player to show every face's number and name for `seconds`
    (the admin's "identify" button calls this). Returns until when."""
    if not 0 < seconds <= MAX_S:
        raise IdentifyError(N_("identify lasts 1-%(most)s seconds, got %(seconds)s"),
                            most=f"{MAX_S:.0f}", seconds=f"{seconds:g}")
    until = utcnow() + timedelta(seconds=seconds)
    set_state(db, STATE_KEY, {"until": iso(until), "by": by})
    log_event(db, "player", "info", "faces_identify",
              f"faces show their number and name for {seconds:g} s",
              detail={"by": by, "seconds": seconds})
    return until


def _ass_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("{", "(").replace("}", ")").replace("\n", " ")


def overlay_text(picture: PictureStatus, names: dict[int, str]) -> str:
    """ASS for one picture: its face number(s) huge, the name(s) below."""
    r = picture.config.region
    big = max(24, int(min(r.height * 0.6, r.width * 0.55)))
    small = max(12, int(min(r.height * 0.09, r.width / 14)))
    number = " + ".join(str(f) for f in picture.config.faces)
    label = " / ".join(_ass_escape(names.get(f, "")) for f in picture.config.faces)
    style = "{\\an5\\bord%d\\shad0\\1c&HFFFFFF&\\3c&H000000&\\fs%d\\b1}"
    return (style % (max(2, big // 25), big) + number + "\\N"
            + style % (max(1, small // 12), small) + label)


class IdentifyPlugin(PlayerPlugin):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._shown: dict[str, tuple[int, str]] = {}  # picture -> (generation, until)
        self._names = {f["id"]: f["name"] for f in ctx.faces}

    def tick(self, now: datetime) -> None:
        wanted = get_state(self.ctx.db, STATE_KEY) or {}
        until = wanted.get("until")
        active = bool(until) and until > iso(now)
        for picture in self.ctx.pictures():
            if not picture.connected:
                self._shown.pop(picture.name, None)
                continue
            key = (picture.generation, until)
            shown = self._shown.get(picture.name)
            if active and shown != key:
                r = picture.config.region
                self._send(picture, {"name": "osd-overlay", "id": OVERLAY_ID, "format": "ass-events",
                                     "data": overlay_text(picture, self._names),
                                     "res_x": r.width, "res_y": r.height, "z": 10}, key)
            elif not active and shown is not None:
                self._send(picture, {"name": "osd-overlay", "id": OVERLAY_ID, "format": "none",
                                     "data": ""}, None)

    def _send(self, picture: PictureStatus, command: dict, key) -> None:
        try:
            self.ctx.command(picture.name, command)
        except MpvError:
            return  # tried again on the next pass
        if key is None:
            self._shown.pop(picture.name, None)
        else:
            self._shown[picture.name] = key
