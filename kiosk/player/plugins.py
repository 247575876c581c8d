"""Seams for code that runs inside the player loop (power relays, text overlays).

A plugin is a `PlayerPlugin` subclass named in `PLUGINS` ("module:Class");
the player creates one of each at start with `Class(player)` and calls it from
its single loop thread (never from an mpv reader thread):

- `dark_faces(now)`: faces that must show nothing right now (face powered off,
  the kill switch), each with a reason, plus when to ask again. A dark face
  stops decoding; when every face of an output is dark the output shows black.
  The player asks after every desired-state change, at `recheck_at`, and at
  least every `DARK_RECHECK_S` seconds.
- `output_args(output)`: extra mpv command-line arguments for one output, e.g.
  `["--script=/usr/share/gatecast/ticker.lua"]` (applied when its mpv starts).
- `schedule_extras(now)`: (entries, playlists) added to the schedule whenever
  the player re-reads it (text notices become entries this way).
- `tick(now)`: called on every loop pass (at most every poll interval); keep it
  cheap. `close()`: called once when the player stops.

The power engineer's relays and the text engineer's overlays plug in here;
media kinds that need rendering plug into kiosk.player.resolve.RESOLVERS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from kiosk.player.loop import Player

DARK_RECHECK_S = 5.0

# "module:Class" of PlayerPlugin subclasses the player loads. Areas add theirs.
PLUGINS: list[str] = [
    "kiosk.power.plugin:PowerPlugin",
    "kiosk.text.plugin:TextPlugin",
]


@dataclass
class DarkFaces:
    faces: dict[int, str] = field(default_factory=dict)  # face id -> reason
    recheck_at: datetime | None = None


class PlayerPlugin:
    """Base class; every method has a do-nothing default."""

    def __init__(self, player: "Player"):
        self.player = player

    def dark_faces(self, now: datetime) -> DarkFaces:
        return DarkFaces()

    def output_args(self, output: Mapping) -> list[str]:
        return []

    def schedule_extras(self, now: datetime) -> tuple[list, dict]:
        return [], {}

    def tick(self, now: datetime) -> None:
        pass

    def close(self) -> None:
        pass


def load_plugin_classes(names: list[str] | None = None) -> list[type[PlayerPlugin]]:
    classes = []
    for target in PLUGINS if names is None else names:
        module, attr = target.split(":")
        classes.append(getattr(importlib.import_module(module), attr))
    return classes
