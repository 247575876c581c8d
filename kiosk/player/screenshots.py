"""Screenshots: the latest picture of each face at `<state>/screenshots/face-<id>.png`.

Under a compositor or X11 the display captures each output as it is shown
(`grim -o OUTPUT`, the X root window) and every face gets its region cut out
of it, so tickers, notices and a black (dark) face are in the picture. The
capture runs in a worker thread; the loop only hears that it finished.

Headless, mpv writes the decoded picture (`screenshot-to-file ... video`,
which works with --vo=null) to a temporary name; the player copies it to
every face the picture shows. mpv cannot take a screenshot while idle: a
black or dark face gets a black picture of its region's size instead
(written once per change, not every interval, to spare the SD card).

Files are written to a temporary name and renamed into place, so readers
(admin, sync) never see half a file.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image

from kiosk.jsonlog import log
from kiosk.player import facestate
from kiosk.player.events import ScreenshotDone
from kiosk.settings import OutputConfig
from kiosk.store import iso, utcnow

logger = logging.getLogger("gatecast.player")

# `player` below is the loop's Player (db, display, events, pictures,
# screenshot_dir, capturing); `picture` a kiosk.player.picture.PicturePlayer.


def face_file(player: Any, face: int) -> Path:
    return player.screenshot_dir / f"face-{face}.png"


def _ready(picture: Any) -> bool:
    """Not while mpv starts or loads new content: the capture would show a
    black picture that is not what the face shows."""
    want = picture.want
    return want is not None and (not want.slots or picture.showing_picture())


# ---- captures of whole outputs ------------------------------------------------
def capture(player: Any, output: OutputConfig, pictures: list) -> bool:
    """Start a capture of `output`; False when it is not ready (try again soon)."""
    if output.name in player.capturing or not all(_ready(p) for p in pictures):
        return False
    player.capturing.add(output.name)
    tmp = str(player.screenshot_dir / f".capture-{output.name}.png")

    def work() -> None:  # worker thread: capture, then only enqueue
        try:
            player.display.capture(output, tmp)
            player.events.put(ScreenshotDone(output.name, 0, tmp, True, of_output=True))
        except Exception as e:  # noqa: BLE001 - the loop must hear that it ended
            player.events.put(ScreenshotDone(output.name, 0, tmp, False, str(e), of_output=True))

    threading.Thread(target=work, name=f"capture-{output.name}", daemon=True).start()
    return True


def finish_capture(player: Any, done: ScreenshotDone) -> None:
    player.capturing.discard(done.source)
    tmp = Path(done.tmp_path)
    if not done.ok or not tmp.exists():
        log(logger, logging.WARNING, "output capture failed", output=done.source, error=done.error)
        tmp.unlink(missing_ok=True)
        return
    now = iso(utcnow())
    try:
        with Image.open(tmp) as image:
            image = image.convert("RGB")
            for picture in player.pictures.values():
                if picture.config.output.name != done.source:
                    continue
                r = picture.config.region
                # A capture of a scaled or rotated output is in its logical size.
                crop = image.crop((r.x, r.y, r.x + r.width, r.y + r.height))
                for face in picture.faces:
                    _save(crop, face_file(player, face))
                    facestate.update(player.db, face, screenshot=face_file(player, face).name,
                                     screenshot_at=now)
    except OSError as e:
        log(logger, logging.WARNING, "output capture unreadable", output=done.source, error=str(e))
    finally:
        tmp.unlink(missing_ok=True)


def _save(image: Image.Image, target: Path) -> None:
    part = target.with_name(f".{target.name}.part")
    image.save(part, format="PNG")
    os.replace(part, target)


# ---- decoded frames (headless) ------------------------------------------------
def take(player: Any, picture: Any) -> bool:
    """Start this picture's screenshots; False when it is not ready (mpv still
    starting or loading), so the caller tries again soon."""
    want = picture.want
    if want is None:
        return False
    showing = set(want.faces) if want.slots else set()
    dark = [f for f in picture.faces if f not in showing]
    if showing:
        if not picture.showing_picture():
            return False
        tmp = str(player.screenshot_dir / f".shot-{picture.name}.png")
        generation = picture.generation

        def on_done(reply: dict) -> None:  # reader thread: only enqueue
            ok = reply.get("error") == "success"
            player.events.put(ScreenshotDone(picture.name, generation, tmp, ok,
                                             None if ok else str(reply.get("error"))))

        if not picture.take_screenshot(tmp, on_done):
            return False
    if dark:
        # Black or dark faces really show black: say so once per change.
        key = (tuple(dark), want.content())
        if picture.black_shot_for != key:
            picture.black_shot_for = key
            for face in dark:
                _write_black(player, picture, face)
    else:
        picture.black_shot_for = None
    return True


def finish(player: Any, picture: Any, done: ScreenshotDone) -> None:
    tmp = Path(done.tmp_path)
    if not done.ok or not tmp.exists():
        # Usually mpv went idle between the request and the shot; next time.
        log(logger, logging.INFO, "screenshot not taken", picture=picture.name, error=done.error)
        tmp.unlink(missing_ok=True)
        picture.next_shot = min(picture.next_shot, time.monotonic() + 1.0)
        return
    faces = list(picture.want.faces) if picture.want else []
    now = iso(utcnow())
    for face in faces:
        target = face_file(player, face)
        part = target.with_name(f".{target.name}.part")
        shutil.copyfile(tmp, part)
        os.replace(part, target)
        facestate.update(player.db, face, screenshot=target.name, screenshot_at=now)
    tmp.unlink(missing_ok=True)


def _write_black(player: Any, picture: Any, face: int) -> None:
    region = picture.config.region
    # Small: a black PNG of any size compresses to a few kB.
    _save(Image.new("RGB", (region.width, region.height), (0, 0, 0)), face_file(player, face))
    facestate.update(player.db, face, screenshot=face_file(player, face).name,
                     screenshot_at=iso(utcnow()))
