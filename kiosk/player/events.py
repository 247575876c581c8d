"""What the player loop reads from its queue: mpv events and finished
screenshots, put there by reader and capture threads (which only enqueue;
every decision is made by the loop). Kept apart from the loop so that the
loop, plugins, pictures and screenshots need not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WAKE = object()  # queued to wake the loop early


@dataclass
class MpvEvent:
    """An event from one picture's mpv, stamped when the reader received it."""

    picture: str  # the picture's name, e.g. "face-1"
    generation: int  # which mpv process of this picture (restarts count up)
    name: str  # mpv event name, "ipc-closed" when the connection ended, or "pong"
    data: dict = field(default_factory=dict)
    at: float = 0.0  # time.monotonic()


@dataclass
class ScreenshotDone:
    """A screenshot request finished: of one picture's decoded frame
    (`source` = picture name, headless) or of a whole output as shown
    (`source` = output name, under a compositor or X11)."""

    source: str
    generation: int
    tmp_path: str
    ok: bool
    error: str | None = None
    of_output: bool = False
