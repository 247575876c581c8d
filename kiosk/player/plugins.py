"""Seams for code that runs inside the player loop (power relays, text overlays).

A plugin is a `PlayerPlugin` subclass named in the `gatecast.player_plugins`
entry points (pyproject.toml);
the player creates one of each at start with `Class(ctx)`, where `ctx` is a
`PlayerContext`: the database, settings, faces, pictures and media store, a
way to send an mpv command to one picture and a way to ask for a
re-evaluation — never the player itself. The player calls plugins from its
single loop thread (never from an mpv reader thread):

- `dark_faces(now)`: faces that must show nothing right now (face powered off,
  the kill switch), each with a reason, plus when to ask again. A dark face
  stops decoding; when every face of a picture is dark the picture is black.
  The player asks after every desired-state change, at `recheck_at`, and at
  least every `DARK_RECHECK_S` seconds.
- `mpv_args(picture)`: extra mpv command-line arguments for one picture's mpv,
  e.g. `["--script=/usr/share/gatecast/x.lua"]` (applied when it starts).
- `schedule_extras(now)`: (entries, playlists) added to the schedule whenever
  the player re-reads it (text notices become entries this way).
- `tick(now)`: called on every loop pass (at most every poll interval); keep it
  cheap. `close()`: called once when the player stops.

Media kinds that need rendering plug into the `gatecast.resolvers` entry points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from kiosk.entrypoints import player_plugin_classes
from kiosk.settings import Layout, Picture

DARK_RECHECK_S = 5.0


@dataclass
class DarkFaces:
    faces: dict[int, str] = field(default_factory=dict)  # face id -> reason
    recheck_at: datetime | None = None


@dataclass(frozen=True)
class PictureStatus:
    """What a plugin may know of one picture right now."""

    config: Picture  # name, output, region, faces
    generation: int  # counts mpv restarts: resend per-process state when it changes
    connected: bool  # its mpv is up and takes commands
    showing: tuple[int, ...]  # faces that show this picture (not dark); () when all are dark
    level: str | None  # schedule level on screen ("emergency", ...), None before the first decision

    @property
    def name(self) -> str:
        return self.config.name


class PlayerContext:
    """The narrow view of the player that plugins get."""

    def __init__(self, *, db, settings: Mapping[str, Any], layout: Layout, media,
                 pictures: Callable[[], list[PictureStatus]],
                 command: Callable[..., Any], request_reconcile: Callable[[], None],
                 show_band: Callable[..., bool] | None = None):
        self.db = db
        self.settings = settings
        self.layout = layout
        self.faces: list[dict] = list(layout.faces)
        self.media = media
        self._pictures = pictures
        self._command = command
        self._request_reconcile = request_reconcile
        self._show_band = show_band

    def pictures(self) -> list[PictureStatus]:
        return self._pictures()

    def command(self, picture: str, *args: Any, timeout: float = 2.0) -> Any:
        """Send one mpv IPC command to a picture's mpv; raises
        kiosk.player.ipc.MpvError when it is not running or refuses."""
        return self._command(picture, *args, timeout=timeout)

    def request_reconcile(self) -> None:
        """Re-evaluate every face on the next pass (thread-safe). Plugins whose
        answer changes without a database write (a button, a sensor) call it."""
        self._request_reconcile()

    def show_band(self, picture: str, region, source: str | None) -> bool:
        """Show a band window over `region` (a kiosk.settings.Region in the
        picture's output) playing the mpv URL `source`, or none (None), for one
        picture (kiosk/player/band.py). False when the display has no screen
        to show windows on (headless): nothing is shown."""
        return bool(self._show_band and self._show_band(picture, region, source))


class PlayerPlugin:
    """Base class; every method has a do-nothing default."""

    def __init__(self, ctx: PlayerContext):
        self.ctx = ctx

    def dark_faces(self, now: datetime) -> DarkFaces:
        return DarkFaces()

    def mpv_args(self, picture: Picture) -> list[str]:
        return []

    def schedule_extras(self, now: datetime) -> tuple[list, dict]:
        return [], {}

    def tick(self, now: datetime) -> None:
        pass

    def close(self) -> None:
        pass


def load_plugin_classes() -> list[type[PlayerPlugin]]:
    return player_plugin_classes()
