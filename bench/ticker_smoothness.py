"""Ticker smoothness: film the ticker band for 30 s under Xvfb and measure how far
it moves from one captured frame to the next, across item changes.

An output's mpv is started with the player's own arguments (kiosk.player.mpv
.build_args, --vo=gpu on Mesa's software GL under Xvfb) and ticker.lua, and
plays a loop of two still images and a 25 fps video, so the picture under the
band changes every few seconds. ffmpeg's x11grab films only the band; each
frame's horizontal shift against the previous one is found by matching the
band's text (PIL, whole pixels).

A step is how far the band moves between two of its own redraws
(speed / ticker_fps). A frame stutters when its displacement departs from the
median by more than one step (a redraw skipped twice, a jump, a pause, a reset).

    .venv/bin/python bench/ticker_smoothness.py [--seconds 30] [--size 960x540]

Last line: `ticker_stutters: X`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.display.x11 import X11Display  # noqa: E402
from kiosk.player.mpv import build_args  # noqa: E402
from kiosk.settings import check_layout  # noqa: E402
from kiosk.text import ticker  # noqa: E402
from kiosk.text.notices import Notice  # noqa: E402
from tests.support.text import SAMPLES, xvfb  # noqa: E402


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=300)


def make_media(folder: Path, width: int, height: int) -> list[str]:
    a, b, clip = folder / "a.png", folder / "b.png", folder / "clip.mp4"
    Image.new("RGB", (width, height), (20, 140, 20)).save(a)
    Image.new("RGB", (width, height), (150, 30, 30)).save(b)
    ffmpeg("-f", "lavfi", "-i", f"testsrc=s={width}x{height}:r=25", "-t", "4", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(clip))
    return [str(a), str(b), str(clip)]


def ipc_send(sock_path: str, command: list, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sock_path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with s:
        s.sendall((json.dumps({"command": command}) + "\n").encode())
        s.settimeout(10)
        s.recv(4096)


def shift_between(prev: Image.Image, cur: Image.Image, max_shift: int) -> int:
    """Leftward shift s that best maps prev onto cur (cur[x] ~ prev[x + s])."""
    w, h = prev.size
    best, best_s = None, 0
    for s in range(0, max_shift + 1):
        a = prev.crop((s, 0, w, h))
        b = cur.crop((0, 0, w - s, h))
        score = ImageStat.Stat(ImageChops.difference(a, b)).mean[0]
        if best is None or score < best:
            best, best_s = score, s
    return best_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--capture-fps", type=int, default=25)
    parser.add_argument("--speed", type=float, default=120.0, help="ticker_speed_px_s (at 1080 lines)")
    parser.add_argument("--ticker-fps", type=float, default=50.0)
    parser.add_argument("--media", choices=("mixed", "images", "video"), default="mixed",
                        help="what plays under the band (default: two images and a video in a loop)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    settings = {"ticker_speed_px_s": args.speed, "ticker_fps": args.ticker_fps, "ticker_height": 0.08,
                "ticker_position": "bottom", "ticker_color": "#FFFFFF", "ticker_background": "#000000",
                "text_fonts": {}}
    notice = Notice("bench", "ticker", "normal", {k: SAMPLES[k] for k in ("vi", "lo", "km", "en")}, (), {},
                    None, None, None, "bench", "local")
    band = ticker.band_for([notice], [1], settings)
    band_h = round(height * band["height"])
    speed = args.speed * height / 1080
    step = speed / args.ticker_fps

    with tempfile.TemporaryDirectory() as tmp_name, xvfb(width, height) as display:
        tmp = Path(tmp_name)
        runtime = tmp / "xdg"
        runtime.mkdir(mode=0o700)
        env = {**os.environ, "DISPLAY": display, "XDG_RUNTIME_DIR": str(runtime)}
        media = make_media(tmp, width, height)
        media = {"mixed": media, "images": media[:2], "video": media[2:]}[args.media]
        sock = str(tmp / "mpv.sock")
        output = {"name": "bench", "width": width, "height": height,
                  "mpv_args": ["--gpu-context=x11egl", f"--geometry={width}x{height}+0+0",
                               "--image-display-duration=3"]}
        layout = check_layout({"display": "x11", "outputs": [output],
                               "faces": [{"id": 1, "name": "bench", "output": "bench"}]})
        x11 = X11Display({"mpv_vo": "gpu", "mpv_hwdec": "no"}, layout, env)
        cmd = build_args("mpv", sock, x11.mpv_args(layout.pictures[0]), ticker.script_args(),
                         output["mpv_args"]) + media
        mpv = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        grab = None
        try:
            ipc_send(sock, ticker.command(band))
            time.sleep(1.5)  # the band fills in from the right edge
            grab = subprocess.Popen(
                ["ffmpeg", "-loglevel", "error", "-f", "x11grab", "-framerate", str(args.capture_fps),
                 "-video_size", f"{width}x{band_h}", "-i", f"{display}+0,{height - band_h}",
                 "-t", str(args.seconds), "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                env=env, stdout=subprocess.PIPE,
            )
            frame_bytes = width * band_h
            frames = []
            while True:
                data = grab.stdout.read(frame_bytes)
                if len(data) < frame_bytes:
                    break
                frames.append(Image.frombytes("L", (width, band_h), data))
            grab.wait(timeout=30)
        finally:
            for proc in (grab, mpv):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()

    max_shift = int(speed / args.capture_fps * 4) + 4
    shifts = [shift_between(a, b, max_shift) for a, b in zip(frames, frames[1:])]
    if not shifts:
        print("no frames captured")
        print("ticker_stutters: nan")
        return 1
    median = statistics.median(shifts)
    stutters = [i for i, s in enumerate(shifts) if abs(s - median) > step + 0.5]
    expected = speed / args.capture_fps
    print(f"size {width}x{height}, band {band_h} px, speed {speed:.1f} px/s, ticker redraws {args.ticker_fps:g}/s "
          f"(one step = {step:.2f} px), capture {args.capture_fps} fps for {args.seconds:g} s")
    print(f"under the band: {args.media}")
    print(f"frames captured: {len(frames)} (expected {int(args.seconds * args.capture_fps)})")
    print(f"displacement per frame: median {median} px (expected {expected:.2f}), "
          f"mean {statistics.mean(shifts):.2f}, min {min(shifts)}, max {max(shifts)}")
    print("displacement histogram: " + ", ".join(f"{k} px x{v}" for k, v in sorted(Counter(shifts).items())))
    print(f"frames departing from the median by >= 1 px: {sum(1 for s in shifts if s != median)}")
    print(f"ticker_stutters: {len(stutters)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
