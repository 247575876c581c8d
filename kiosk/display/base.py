"""The interface every display backend implements."""

from __future__ import annotations

from typing import Mapping

from kiosk.settings import Layout, OutputConfig, Picture


class DisplayError(Exception):
    """The display cannot be reached, or a capture failed."""


class Display:
    name = "base"
    # True: screenshots are captures of each output as shown (cropped to each
    # face's region); False: mpv's decoded frame of each picture.
    captures_outputs = False
    # True: pictures are windows on a screen, so a picture's ticker band can be
    # a window of its own over it (kiosk/player/band.py); False: nothing to show on.
    shows_windows = False

    def __init__(self, settings: Mapping, layout: Layout, env: dict[str, str]):
        self.settings = settings
        self.layout = layout
        self.env = env

    def check(self) -> str | None:
        """None when pictures can be shown now, else why not (for the alarm)."""
        return None

    def mpv_args(self, picture: Picture) -> list[str]:
        """Video output and window placement options for one picture's mpv."""
        raise NotImplementedError

    def mpv_env(self) -> dict[str, str]:
        return dict(self.env)

    def maintain(self, running: set[str], extra: tuple[Picture, ...] = ()) -> None:
        """Called on every loop pass with the pictures whose mpv is up: keep
        their windows where they belong (cheap when nothing changed). `extra`
        are more windows to place, above the pictures (the ticker bands: a
        Picture each, named band-face-N, its region the band's rows); those
        in `running` are up."""

    def next_due(self) -> float | None:
        """time.monotonic() by which `maintain` wants to run again, if soon."""
        return None

    def capture(self, output: OutputConfig, path: str) -> None:
        """Write a PNG of `output` as it is shown now (blocking: call it from a
        worker thread). Raises DisplayError."""
        raise DisplayError(f"the {self.name} display cannot capture outputs")

    def close(self) -> None:
        pass

    def _vo_args(self, default_vo: str) -> list[str]:
        vo = self.settings.get("mpv_vo") or default_vo
        args = [f"--vo={vo}"]
        if vo.split(",")[0] == "gpu":
            args.append(f"--hwdec={self.settings.get('mpv_hwdec') or 'no'}")
        # A real window that stays black while idle or dark. No audio yet: four
        # pictures would share one sound device (left for later, see README).
        return args + ["--force-window=yes", "--background=#000000", "--ao=null",
                       "--border=no", "--keepaspect-window=no"]
