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
"""

from __future__ import annotations

import logging

from kiosk.jsonlog import log
from kiosk.player.ipc import MpvError
from kiosk.player.mpv import MpvProcess, build_args
from kiosk.settings import Picture, Region

logger = logging.getLogger("gatecast.player")

PREFIX = "band-"
RESTART_DELAY_S = 1.0
CONNECT_TIMEOUT_S = 10.0
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
            log(logger, logging.WARNING, "band mpv exited; restarting", picture=self.picture.name,
                exit=self.proc.exit_description())
            self._cleanup()
            self.restart_at = now + RESTART_DELAY_S
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
                log(logger, logging.WARNING, "band mpv did not open its IPC socket; restarting",
                    picture=self.picture.name)
                self._stop("no IPC")
                self.restart_at = now + RESTART_DELAY_S
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
            log(logger, logging.WARNING, "band mpv does not answer; restarting", picture=self.picture.name,
                error=str(e))
            self._stop("no answer")
            self.restart_at = now + RESTART_DELAY_S
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
        self.proc = MpvProcess(args, sock, self.name, self.generation, self.player.events,
                               env=display.mpv_env())
        self.loaded = None
        log(logger, logging.INFO, "band mpv started", picture=self.picture.name, pid=self.proc.pid,
            region=region.as_dict())

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
