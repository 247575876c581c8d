"""The text area's player plugin: notices into the schedule, tickers onto the pictures.

- `schedule_extras`: every current or future slide notice as a schedule entry
  of its level (an emergency notice preempts everything on its faces at the
  next poll, since writing a notice bumps the desired-state revision).
- `tick`: when the notices change (or one starts or ends), works out each
  picture's band, draws it once at the picture's size (`ticker.render`, into
  a folder of this plugin's own) and has the player show it in the picture's
  band window (`ctx.show_band`, kiosk/player/band.py). A picture whose faces
  are all dark (power off, kill switch), or that shows an emergency while the
  band holds no emergency ticker, carries no band: its band window goes.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from kiosk.player.plugins import PictureStatus, PlayerPlugin
from kiosk.settings import Region
from kiosk.store import desired_revision, log_event
from kiosk.text import ticker
from kiosk.text.fonts import FontError, font_problems
from kiosk.text.notices import Notice, active_notices, next_change, notice_schedule

logger = logging.getLogger("gatecast.text")

DEFAULT_REFRESH = 60.0  # Hz, an output whose refresh is not configured


class TextPlugin(PlayerPlugin):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._revision: int | None = None
        self._next_change: datetime | None = None
        self._notices: list[Notice] = []
        self._reported: set[tuple[str, str]] = set()
        # Strip files the bands' mpv read when they load them.
        self.strips = Path(tempfile.mkdtemp(prefix="gatecast-ticker-"))
        self._rendered: dict[tuple, dict] = {}  # (band, width, height) -> ticker.render's message
        # Say at start (not at the first emergency) which languages cannot be drawn.
        for lang, problem in font_problems(ctx.settings.get("text_fonts")).items():
            log_event(ctx.db, "text", "error", "font_missing", problem, detail={"language": lang})

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
        for picture in self.ctx.pictures():
            message = self._strip(picture, wanted)
            if message is None:
                self.ctx.show_band(picture.name, None, None)
                continue
            output = picture.config.output
            fps = message["fps"] or output.refresh or DEFAULT_REFRESH
            self.ctx.show_band(picture.name, Region(*ticker.rect(message, picture.config.region)),
                               ticker.source(message, fps))
        if wanted.keys() != self._rendered.keys():
            # Keep only the strips shown now: a band's mpv reads its strip when
            # it loads it (also after a restart), never afterwards.
            self._rendered = {k: v for k, v in self._rendered.items() if k in wanted}
            ticker.prune(self.strips, {m["image"] for m in self._rendered.values()})

    def _strip(self, picture: PictureStatus, wanted: dict) -> dict | None:
        """`ticker.render`'s message for `picture`: its band drawn once at its size."""
        band = self._band(picture)
        if band is None:
            return None
        region = picture.config.region
        key = (json.dumps(band, sort_keys=True, ensure_ascii=False), region.width, region.height)
        message = self._rendered.get(key)
        if message is None or not Path(message["image"]).exists():  # new, or removed by a /tmp cleaner
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
