"""The text area's player plugin: notices into the schedule, tickers onto the outputs.

- `schedule_extras`: every current or future slide notice as a schedule entry
  of its level (an emergency notice preempts everything on its faces at the
  next poll, since writing a notice bumps the desired-state revision).
- `mpv_args`: loads ticker.lua into every picture's mpv.
- `tick`: when the notices change (or one starts or ends), works out each
  picture's band, draws it once at the picture's size (`ticker.render`, into
  a folder of this plugin's own) and sends it; resends to an mpv that
  restarted. A picture
  whose faces are all dark, or that shows an emergency while the band holds
  no emergency ticker, carries no band.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from kiosk.player.ipc import MpvError
from kiosk.player.plugins import PictureStatus, PlayerPlugin
from kiosk.store import desired_revision, log_event
from kiosk.text import ticker
from kiosk.text.fonts import FontError, font_problems
from kiosk.text.notices import Notice, active_notices, next_change, notice_schedule

logger = logging.getLogger("gatecast.text")


class TextPlugin(PlayerPlugin):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._revision: int | None = None
        self._next_change: datetime | None = None
        self._notices: list[Notice] = []
        self._sent: dict[str, tuple[int, str]] = {}  # picture -> (mpv generation, message)
        self._reported: set[tuple[str, str]] = set()
        # Strip files the pictures' mpv read at every move of their band.
        self.strips = Path(tempfile.mkdtemp(prefix="gatecast-ticker-"))
        self._rendered: dict[tuple, dict] = {}  # (band, width, height) -> ticker.lua's message
        # Say at start (not at the first emergency) which languages cannot be drawn.
        for lang, problem in font_problems(ctx.settings.get("text_fonts")).items():
            log_event(ctx.db, "text", "error", "font_missing", problem, detail={"language": lang})

    def mpv_args(self, picture) -> list[str]:
        return ticker.script_args()

    def schedule_extras(self, now: datetime):
        face_ids = [f["id"] for f in self.ctx.faces]
        return notice_schedule(self.ctx.db, self.ctx.media, self.ctx.settings, face_ids, now)

    def tick(self, now: datetime) -> None:
        db = self.ctx.db
        rev = desired_revision(db)
        if rev != self._revision or (self._next_change is not None and now >= self._next_change):
            self._revision = rev
            self._notices = active_notices(db, now)
            self._next_change = next_change(db, now)
        wanted: dict[tuple, dict] = {}
        changed = False
        for picture in self.ctx.pictures():
            if not picture.connected:
                continue
            message = ticker.command(self._strip(picture, wanted))
            key = (picture.generation, message[2])
            if self._sent.get(picture.name) == key:
                continue
            try:
                self.ctx.command(picture.name, *message, timeout=2.0)
            except MpvError as e:  # tried again on the next pass
                logger.warning("could not send the ticker to picture %s: %s", picture.name, e)
                continue
            self._sent[picture.name] = key
            changed = True
        if changed:
            # Keep what some mpv may still be reading: the current strips and the last sent.
            sent = {json.loads(m).get("image") for _, m in self._sent.values()}
            self._rendered = {k: v for k, v in self._rendered.items() if k in wanted or v["image"] in sent}
            ticker.prune(self.strips, {m["image"] for m in self._rendered.values()})

    def _strip(self, picture: PictureStatus, wanted: dict) -> dict | None:
        """ticker.lua's message for `picture`: its band drawn once at its size."""
        band = self._band(picture)
        if band is None:
            return None
        region = picture.config.region
        key = (json.dumps(band, sort_keys=True, ensure_ascii=False), region.width, region.height)
        message = self._rendered.get(key)
        if message is None or not Path(message["image"]).exists():
            if message is not None:  # removed under us (a /tmp cleaner): draw it again, resend to all
                self._sent = {name: sent for name, sent in self._sent.items()
                              if json.loads(sent[1]).get("image") != message["image"]}
            message = self._rendered[key] = ticker.render(band, region.width, region.height, self.strips)
        wanted[key] = message
        return message

    def _band(self, picture: PictureStatus) -> dict | None:
        faces = picture.showing
        if not faces:
            return None  # dark (power off, kill switch) or not decided yet
        band = ticker.band_for(self._notices, faces, self.ctx.settings, on_error=self._report)
        if band is not None and picture.level == "emergency" and not any(
                n.level == "emergency" and n.kind == "ticker" and any(n.on_face(f) for f in faces)
                for n in self._notices):
            return None  # an emergency slide owns the whole face
        return band

    def close(self) -> None:
        shutil.rmtree(self.strips, ignore_errors=True)

    def _report(self, notice: Notice, error: FontError) -> None:
        key = (notice.id, str(error))
        if key in self._reported:
            return
        self._reported.add(key)
        log_event(self.ctx.db, "text", "error", "ticker_text_refused",
                  f"ticker notice {notice.id}: {error}", detail={"notice_id": notice.id})
