"""A picture's ticker band in a window of its own.

The band used to be an overlay inside the picture's mpv, which redraws only
when the picture does: at a clip's 25 fps, and not at all for a moment at
each item change, so the band held and jumped (docs/benchmarks.md). Here it
is a second, small mpv per picture that shows nothing but the band: the
display places its window over the bottom (or top) rows of the picture's
region, above the picture, and it plays the moving band (kiosk.text.ticker
.source) with `--video-sync=display-resample`, one frame per refresh of the
display. Whatever the picture's mpv does (item changes, a slow decoder, a
crash) the band's own mpv goes on.

Only the player loop thread calls into a `Band`. Its mpv runs only while the
picture has a band: no band (none set, the face dark, the kill switch)
means no window, so the picture's own pixels show there. A band's mpv that
dies is started again; when its picture's mpv restarts, the band is loaded
again so that its window maps anew above the picture's.

A band's mpv that cannot start or dies is an event of its faces
(band_mpv_start_failed, band_mpv_died), restarted after the picture's mpv's
growing delays. A crash loop is not recorded death by death: the first
failure is, then once `band_mpv_failing` with the face's last error when it
has failed FAILING_AFTER times in a row, then `band_mpv_back` once it has run
STABLE_AFTER_S again. Every failure is still in the JSON log.
"""

from __future__ import annotations

import logging
import time

from kiosk.jsonlog import log
from kiosk.player import facestate
from kiosk.player.ipc import MpvError
from kiosk.player.mpv import MpvProcess, build_args
from kiosk.player.picture import RESTART_DELAYS_S, STABLE_AFTER_S
from kiosk.settings import Picture, Region
from kiosk.store import iso, log_event, utcnow

logger = logging.getLogger("gatecast.player")

PREFIX = "band-"
CONNECT_TIMEOUT_S = 10.0
FAILING_AFTER = 3  # failures in a row (none lived STABLE_AFTER_S): the band keeps failing
# Every CHECK_INTERVAL_S the band's mpv is asked whether it is playing: one
# that went idle (its window could not be made, its source failed) loads the
# band again, and one that does not answer in CHECK_TIMEOUT_S is killed and
# started again.
CHECK_INTERVAL_S = 2.0
CHECK_TIMEOUT_S = 2.0

# After the display's own options (they come first): why each.
BAND_ARGS = (
    "--force-window=no",  # no window while nothing plays: no band, no black strip
    "--video-sync=display-resample",  # one band frame per display refresh, in step with it
    "--hwdec=no",  # raw frames from the filter graph: nothing to decode
    "--keepaspect=no",  # the band fills its window, which is exactly its size
    "--loop-playlist=no",  # the band is one endless stream
    "--demuxer-readahead-secs=0.5",  # frames are made ahead from the clock; a little is enough
    "--cache=no",
)


def window_name(picture: Picture) -> str:
    return PREFIX + picture.name  # app id gatecast-band-face-N


class Band:
    def __init__(self, picture: Picture, player):
        self.picture = picture
        self.name = window_name(picture)
        self.player = player
        self.want: tuple[Region, str] | None = None  # (window region in the output, mpv source)
        self.window: Picture | None = None  # where the running mpv's window belongs
        self.proc: MpvProcess | None = None
        self.generation = 0
        self.loaded: tuple | None = None  # (source, picture generation) loaded into the running mpv
        self.restart_at = 0.0
        self.next_check = 0.0
        self.failures = 0  # in a row, each within STABLE_AFTER_S of its start

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.ipc is not None and self.proc.ipc.connected

    def set(self, region: Region | None, source: str | None) -> None:
        self.want = (region, source) if region is not None and source else None

    def supervise(self, now: float, picture_generation: int) -> None:
        if self.want is None:
            if self.proc is not None:
                self._stop("no band")
            return
        region, source = self.want
        if self.proc is not None and not self.proc.alive():
            lived = now - self.proc.started_at
            reason = f"mpv {self.proc.exit_description()}; restarting"
            self._cleanup()
            self._failed(now, lived, reason, "band_mpv_died")
        if (self.failures and self.proc is not None and self.proc.ipc is not None
                and now - self.proc.started_at >= STABLE_AFTER_S):
            self._stable()
        if self.proc is not None and self.window is not None and self.window.region != region:
            self._stop("band moved")  # its size is in its command line: start it again
        if self.proc is None:
            if now >= self.restart_at and self.player.display_ready():
                self._spawn(region)
            return
        if self.proc.ipc is None:
            if self.proc.try_connect():
                self.loaded = None
            elif now - self.proc.started_at > CONNECT_TIMEOUT_S:
                self._stop("no IPC")
                # It never ran: a quick failure however long it was waited for.
                self._failed(now, 0.0, "mpv did not open its IPC socket; restarting", "band_mpv_died")
            return
        if self.loaded == (source, picture_generation):
            if now >= self.next_check:
                self._check(now)
            return
        try:
            if self.loaded is not None and self.loaded[1] != picture_generation:
                # The picture's mpv started again and mapped its window over
                # the band's: unmap the band's (idle, no forced window) and map
                # it again, above.
                self.proc.ipc.command("stop", timeout=2.0)
            self.proc.ipc.command("loadfile", source, "replace", timeout=2.0)
        except MpvError as e:  # tried again on the next pass
            log(logger, logging.WARNING, "could not load the band", picture=self.picture.name, error=str(e))
            return
        self.loaded = (source, picture_generation)
        self.next_check = now + CHECK_INTERVAL_S

    def _check(self, now: float) -> None:
        self.next_check = now + CHECK_INTERVAL_S
        try:
            idle = self.proc.ipc.command("get_property", "idle-active", timeout=CHECK_TIMEOUT_S)
        except MpvError as e:
            lived = now - self.proc.started_at
            self._stop("no answer")
            self._failed(now, lived, f"mpv stopped answering for {CHECK_TIMEOUT_S:.0f} s and was killed; "
                         f"restarting ({e})", "band_mpv_died")
            return
        if idle:
            log(logger, logging.WARNING, "band mpv went idle; loading the band again", picture=self.picture.name)
            self.loaded = None

    def _spawn(self, region: Region) -> None:
        self.generation += 1
        self.window = Picture(self.name, self.picture.output, region, self.picture.faces)
        sock = str(self.player.run_dir / f"{self.name}-{self.generation}.sock")
        display = self.player.display
        args = build_args(self.player.settings["mpv_path"], sock, display.mpv_args(self.window), BAND_ARGS)
        try:
            self.proc = MpvProcess(args, sock, self.name, self.generation, self.player.events,
                                   env=display.mpv_env())
        except OSError as e:
            self.window = None
            self._failed(time.monotonic(), 0.0, f"cannot start mpv: {e}", "band_mpv_start_failed")
            return
        self.loaded = None
        log(logger, logging.INFO, "band mpv started", picture=self.picture.name, pid=self.proc.pid,
            region=region.as_dict())

    # ---- failures ---------------------------------------------------------
    def _failed(self, now: float, lived: float, reason: str, code: str) -> None:
        """Restart after the picture's growing delays; record the first failure
        and, once, a band that keeps failing (not every turn of a crash loop)."""
        self.failures = self.failures + 1 if lived < STABLE_AFTER_S else 1
        delay = RESTART_DELAYS_S[min(self.failures - 1, len(RESTART_DELAYS_S) - 1)]
        self.restart_at = now + delay
        log(logger, logging.WARNING, "band " + reason, picture=self.picture.name, code=code,
            failures=self.failures, lived_s=round(lived, 3), restart_in_s=delay)
        detail = {"lived_s": round(lived, 3), "restart_in_s": delay}
        if self.failures == 1:
            if code == "band_mpv_start_failed":
                self._note_error(reason, code="band_mpv_start_failed", level="error", detail=detail)
            else:
                self._note_error(reason, code="band_mpv_died", level="warning", detail=detail)
        elif self.failures == FAILING_AFTER:
            self._note_error(reason, code="band_mpv_failing", level="error",
                             detail={**detail, "failures": self.failures})

    def _stable(self) -> None:
        """Running STABLE_AFTER_S after failures: the next failure is news again."""
        if self.failures >= FAILING_AFTER:
            for face in self.picture.faces:
                log_event(self.player.db, "player", "info", "band_mpv_back",
                          "the ticker band's mpv runs again", face_id=face,
                          detail=self._detail({"failures": self.failures}))
            log(logger, logging.INFO, "band mpv runs again", picture=self.picture.name, failures=self.failures)
        self.failures = 0

    def _detail(self, extra: dict) -> dict:
        return {"picture": self.picture.name, "output": self.picture.output.name, **extra}

    def _note_error(self, message: str, code: str, level: str, detail: dict) -> None:
        """An event of each face the band belongs to, and their last error."""
        for face in self.picture.faces:
            log_event(self.player.db, "player", level, code, "ticker band: " + message, face_id=face,
                      detail=self._detail(detail))
            facestate.update(self.player.db, face, last_error=f"{iso(utcnow())} ticker band: {message}")

    def _cleanup(self) -> None:
        if self.proc is not None and self.proc.ipc is not None:
            self.proc.ipc.close()
        self.proc, self.window, self.loaded = None, None, None

    def _stop(self, why: str) -> None:
        if self.proc is not None:
            try:
                self.proc.stop()
            finally:
                log(logger, logging.INFO, "band mpv stopped", picture=self.picture.name, why=why)
        self._cleanup()

    def stop(self) -> None:
        self.want = None
        self._stop("player stopping")
