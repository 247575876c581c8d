"""Helpers for the text tests: an Xvfb display, a bare mpv with JSON IPC,
screenshots, and pixel measurements of text and of the ticker band.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

# A customs notice in each language (the same sentences `gatecast text fonts` checks).
from kiosk.text.fonts import SAMPLES  # noqa: F401 - re-exported for the tests

from tests.support.wait import wait_for


@contextmanager
def xvfb(width: int = 640, height: int = 360):
    """A private X display; yields its name (":N") and kills it afterwards."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Mpv:
    """One mpv process driven over its JSON IPC socket (replies matched by request id)."""

    def __init__(self, tmp: Path, args: list[str], display: str | None = None):
        self.sock_path = str(tmp / f"mpv-{time.monotonic_ns()}.sock")
        env = dict(os.environ)
        runtime = tmp / "xdg"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = str(runtime)
        if display:
            env["DISPLAY"] = display
        self.log = open(tmp / "mpv.log", "ab")
        self.proc = subprocess.Popen(
            ["mpv", "--no-config", "--ao=null", "--idle=yes", "--really-quiet", "--msg-level=all=info",
             f"--input-ipc-server={self.sock_path}", *args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        self.sock = self._connect()
        self.buf = b""
        self.next_id = 1

    def _connect(self) -> socket.socket:
        def connected() -> socket.socket | None:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.sock_path)
                s.settimeout(20)
                return s
            except OSError:
                s.close()
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mpv did not open its IPC socket (exit {self.proc.poll()})")
                return None

        return wait_for(connected, 20, "mpv to open its IPC socket")

    def command(self, *args, timeout: float = 20.0):
        rid = self.next_id
        self.next_id += 1
        self.sock.sendall((json.dumps({"command": list(args), "request_id": rid}) + "\n").encode())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                msg = json.loads(line)
                if msg.get("request_id") == rid and "error" in msg:
                    if msg["error"] != "success":
                        raise RuntimeError(f"mpv {args[0]}: {msg['error']}")
                    return msg.get("data")
            self.buf += self.sock.recv(65536)
        raise TimeoutError(f"mpv did not answer {args[0]}")

    def screenshot(self, path: Path, mode: str = "window", timeout: float = 20.0) -> Image.Image:
        """A screenshot, retried while mpv has no picture yet (every screenshot fails while idle)."""
        def shot() -> Image.Image | None:
            try:
                self.command("screenshot-to-file", str(path), mode)
                with Image.open(path) as im:
                    return im.convert("RGB")
            except RuntimeError:
                return None

        return wait_for(shot, timeout, "mpv to have a picture to screenshot")

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.log.close()


@contextmanager
def mpv(tmp: Path, args: list[str], display: str | None = None):
    player = Mpv(tmp, args, display)
    try:
        yield player
    finally:
        player.close()


def differs(pixel, colour, tolerance: int = 40) -> bool:
    return sum(abs(a - b) for a, b in zip(pixel, colour)) > tolerance


def ink_mask(image: Image.Image, background, threshold: int = 24) -> Image.Image:
    """White where the image is unlike the background colour (the drawn text)."""
    flat = Image.new("RGB", image.size, background)
    diff = ImageChops.difference(image.convert("RGB"), flat).convert("L")
    return diff.point(lambda v: 255 if v > threshold else 0)


def ink_outside(image: Image.Image, background, boxes, pad: int = 3) -> tuple | None:
    """Bounding box of ink that lies outside every box (padded), or None."""
    mask = ink_mask(image, background)
    for b in boxes:
        mask.paste(0, (max(0, b[0] - pad), max(0, b[1] - pad), b[2] + pad, b[3] + pad))
    return mask.getbbox()


def ink_inside(image: Image.Image, background, box) -> int:
    mask = ink_mask(image, background).crop(box)
    return mask.histogram()[255]


def band_profile(image: Image.Image, top: int, bottom: int, colour=(255, 255, 255)) -> list[int]:
    """Per column, how many pixels of rows top..bottom are close to the text colour."""
    px = image.load()
    return [
        sum(1 for y in range(top, bottom) if not differs(px[x, y], colour, 150))
        for x in range(image.width)
    ]


def leftmost_ink(profile: list[int]) -> int | None:
    return next((x for x, n in enumerate(profile) if n), None)


def band_shift(before: Image.Image, after: Image.Image, max_shift: int) -> tuple[int, float]:
    """How far left the band moved from `before` to `after`, and how well it matches.

    Tries every whole-pixel shift s in 0..max_shift (after[x] = before[x + s])
    and returns the best one with its mean grey difference over the part both
    pictures show: near 0 when `after` is `before` moved, and nothing else
    changed (a re-laid-out, restarted or smeared band matches badly).
    """
    a, b = before.convert("L"), after.convert("L")
    w, h = a.size
    best = (255.0, 0)
    for s in range(0, min(max_shift, w - 8) + 1):
        diff = ImageStat.Stat(ImageChops.difference(a.crop((s, 0, w, h)), b.crop((0, 0, w - s, h)))).mean[0]
        best = min(best, (diff, s))
    return best[1], best[0]
