"""Screenshots: the latest picture of each face at `<state>/screenshots/face-<id>.png`.

mpv writes the decoded picture (`screenshot-to-file ... video`, which works
with --vo=null) to a temporary name; the player then copies it to every face
the output shows and renames it into place, so readers (admin, sync) never
see half a file. mpv cannot take a screenshot while idle: a black or dark
face gets a black picture of the output's size instead (written once per
change, not every interval, to spare the SD card).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from kiosk.jsonlog import log
from kiosk.player import facestate
from kiosk.store import iso, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from kiosk.player.loop import Player, ScreenshotDone
    from kiosk.player.output import Output

logger = logging.getLogger("gatecast.player")


def face_file(player: "Player", face: int) -> Path:
    return player.screenshot_dir / f"face-{face}.png"


def take(player: "Player", output: "Output") -> bool:
    """Start this output's screenshots; False when it is not ready (mpv still
    starting or loading), so the caller tries again soon."""
    from kiosk.player.loop import ScreenshotDone

    faces = player.faces_on(output.name)
    want = output.want
    if want is None:
        return False
    showing = set(want.faces) if want.slots else set()
    dark = [f for f in faces if f not in showing]
    if showing:
        if not output.showing_picture():
            return False
        tmp = str(player.screenshot_dir / f".shot-{output.name}.png")
        generation = output.generation

        def on_done(reply: dict) -> None:  # reader thread: only enqueue
            ok = reply.get("error") == "success"
            player.events.put(ScreenshotDone(output.name, generation, tmp, ok,
                                             None if ok else str(reply.get("error"))))

        if not output.take_screenshot(tmp, on_done):
            return False
    if dark:
        # Black or dark faces really show black: say so once per change.
        key = (tuple(dark), want.content())
        if output.black_shot_for != key:
            output.black_shot_for = key
            for face in dark:
                _write_black(player, output, face)
    else:
        output.black_shot_for = None
    return True


def finish(player: "Player", output: "Output", done: "ScreenshotDone") -> None:
    tmp = Path(done.tmp_path)
    if not done.ok or not tmp.exists():
        # Usually mpv went idle between the request and the shot; next time.
        log(logger, logging.INFO, "screenshot not taken", output=output.name, error=done.error)
        tmp.unlink(missing_ok=True)
        output.next_shot = min(output.next_shot, time.monotonic() + 1.0)
        return
    faces = list(output.want.faces) if output.want else []
    now = iso(utcnow())
    for face in faces:
        target = face_file(player, face)
        part = target.with_name(f".{target.name}.part")
        shutil.copyfile(tmp, part)
        os.replace(part, target)
        facestate.update(player.db, face, screenshot=target.name, screenshot_at=now)
    tmp.unlink(missing_ok=True)


def _write_black(player: "Player", output: "Output", face: int) -> None:
    width = int(output.config.get("width") or 1920)
    height = int(output.config.get("height") or 1080)
    target = face_file(player, face)
    part = target.with_name(f".{target.name}.part")
    # Small: a black PNG of any size compresses to a few kB.
    Image.new("RGB", (width, height), (0, 0, 0)).save(part, format="PNG")
    os.replace(part, target)
    facestate.update(player.db, face, screenshot=target.name, screenshot_at=iso(utcnow()))
