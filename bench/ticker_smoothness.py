"""Ticker smoothness: film the ticker band for 30 s and judge its motion from the
pictures, across item changes.

Compositor mode (default): the real player (display `sway`, mpv --vo=wlshm,
the text plugin) under a headless sway running as the unprivileged test user,
one face filling a virtual output, a ticker notice in four languages set with
`set_notice` as an operator would. wf-recorder films only the band: every
frame the compositor renders, stamped with its presentation time. For each
pair of frames the band's leftward shift is found by matching the pictures
(whole pixels); the band should have moved speed x (time between the frames).
A frame stutters when its shift departs from that by more than one step (the
distance the band moves per redraw, at least 1 px) plus 1 px of measuring
error: a held frame, a late redraw, a jump, a reset. Consecutive stuttering
frames make one stutter event (a hitch and its catch-up).

    .venv/bin/python bench/ticker_smoothness.py [--seconds 30] [--size 960x540]

Xvfb mode (`--mode xvfb`, the first measurement): an output's mpv is started with the player's own arguments (kiosk.player.mpv
.build_args, --vo=gpu on Mesa's software GL under Xvfb) and ticker.lua, and
plays a loop of two still images and a 25 fps video, so the picture under the
band changes every few seconds. ffmpeg's x11grab films only the band; each
frame's horizontal shift against the previous one is found by matching the
band's text (PIL, whole pixels).

x11grab has no frame times, so there a frame stutters when its displacement
departs from the median by more than one step.

    .venv/bin/python bench/ticker_smoothness.py --mode xvfb

Last line: `ticker_stutters: X` (stuttering frames).
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

from kiosk import content  # noqa: E402
from kiosk.display.x11 import X11Display  # noqa: E402
from kiosk.player.mpv import build_args  # noqa: E402
from kiosk.settings import check_layout  # noqa: E402
from kiosk.text import ticker  # noqa: E402
from kiosk.text.notices import Notice, set_notice  # noqa: E402
from kiosk.text.plugin import TextPlugin  # noqa: E402
from tests.support.film import Recorder, read_frames  # noqa: E402
from tests.support.player import Gate, cpu_seconds, gate_settings, mpv_pid, running_player  # noqa: E402
from tests.support.sway import HeadlessSway  # noqa: E402
from tests.support.text import SAMPLES, band_shift, xvfb  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

LANGUAGES = ("vi", "lo", "km", "en")
ABOVE = 6  # rows of the picture filmed above the band


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


def xvfb_mode(args) -> int:
    width, height = (int(v) for v in args.size.split("x"))

    settings = {"ticker_speed_px_s": args.speed, "ticker_fps": args.ticker_fps, "ticker_height": 0.08,
                "ticker_position": "bottom", "ticker_color": "#FFFFFF", "ticker_background": "#000000",
                "text_fonts": {}}
    notice = Notice("bench", "ticker", "normal", {k: SAMPLES[k] for k in LANGUAGES}, (), {},
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
            ipc_send(sock, ticker.command(ticker.render(band, width, height, tmp)))
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


def compositor_mode(args) -> int:
    width, height = (int(v) for v in args.size.split("x"))
    speed = args.speed * height / 1080
    step = max(1.0, speed / args.ticker_fps)  # whole-pixel moves, at most ticker_fps a second
    tolerance = step + 1.0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        state = tmp / "state"
        state.mkdir()
        gate = Gate(state, {Path(p).stem: Path(p) for p in make_media(tmp, width, height)})
        items = {"mixed": [("a", 3.0), ("b", 3.0), ("clip", None)], "images": [("a", 3.0), ("b", 3.0)],
                 "video": [("clip", None)]}[args.media]
        content.set_playlist(gate.db, "bench", "Bench", [(gate.sha[name], d) for name, d in items])
        content.add_schedule_entry(gate.db, "bench", [1])
        settings = gate_settings(
            state, display="sway", mpv_vo="wlshm", screenshot_interval_s=0,
            outputs=[{"name": "main", "connector": "HEADLESS-1", "width": width, "height": height}],
            faces=[{"id": 1, "name": "bench", "output": "main"}],
            ticker_speed_px_s=args.speed, ticker_fps=args.ticker_fps, ticker_height=0.08,
            ticker_position="bottom", ticker_color="#FFFFFF", ticker_background="#000000")
        band_h = ticker.band_height({"height": 0.08}, height)
        sway = HeadlessSway(((width, height),)).start()
        saved = {k: os.environ.get(k) for k in ("WAYLAND_DISPLAY", "SWAYSOCK")}
        os.environ.update(sway.env())
        try:
            with running_player(settings, plugins=[TextPlugin], extra_mpv_args=args.mpv_arg) as player:
                wait_for(lambda: gate.playing() in ("a", "b", "clip"), timeout=120, what="the playlist on screen")
                set_notice(gate.db, {k: SAMPLES[k] for k in LANGUAGES}, kind="ticker")
                band_box = (0, height - band_h, width, height)
                wait_for(lambda: sway.grab("HEADLESS-1").crop(band_box).convert("L").getextrema()[1] > 200,
                         timeout=120, what="text in the band")
                time.sleep(1.0)
                sway.grab("HEADLESS-1").save(tmp / "during.png")
                if args.keep:
                    (tmp / "during.png").replace(args.keep)
                pid = mpv_pid(player)
                cpu0, sway0 = cpu_seconds(pid), cpu_seconds(sway.proc.pid)
                # The band and, above it, a few rows of the picture: they tell item changes.
                recorder = Recorder(sway, "HEADLESS-1", f"0,{height - band_h - ABOVE} {width}x{band_h + ABOVE}",
                                    tmp / "band.nut").film(args.seconds)
                cpu = (cpu_seconds(pid) - cpu0) / args.seconds
                sway_cpu = (cpu_seconds(sway.proc.pid) - sway0) / args.seconds
                items = {r["media_name"] for r in gate.proof()}
        finally:
            sway.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        frames = read_frames(recorder.path)
        gate.db.close()
    if len(frames) < 2:
        print(f"no frames filmed (see {recorder.log})")
        print("ticker_stutters: nan")
        return 1
    max_shift = int(speed) + 8  # a second of motion: more than any hitch here
    rows = []  # (time between frames, shift, error against the clock, match)
    changes = []  # frame indexes where the picture above the band changed
    for i, ((t0, a), (t1, b)) in enumerate(zip(frames, frames[1:])):
        w, h = a.size
        bands = a.crop((0, ABOVE + 1, w, h)), b.crop((0, ABOVE + 1, w, h))
        shift, match = band_shift(*bands, max_shift)
        rows.append((t1 - t0, shift, shift - speed * (t1 - t0), match))
        above = [ImageStat.Stat(f.crop((0, 0, w, ABOVE - 1))).mean[0] for f in (a, b)]
        if abs(above[0] - above[1]) > 20:
            changes.append(i)
    bad = [abs(err) > tolerance for _, _, err, _ in rows]
    starts = [i for i, b in enumerate(bad) if b and (i == 0 or not bad[i - 1])]
    events = len(starts)
    # A stutter "at an item change" starts within 0.5 s of a change of the picture.
    times = [t for t, _ in frames]
    at_change = sum(1 for i in starts if any(abs(times[i] - times[c]) < 0.5 for c in changes))
    span = frames[-1][0] - frames[0][0]
    gaps = [dt * 1000 for dt, _, _, _ in rows]
    moved = sum(s for _, s, _, _ in rows)
    print(f"compositor: headless sway (pixman), the player's sway backend, mpv --vo=wlshm; face {width}x{height}, "
          f"band {band_h} px, speed {speed:.1f} px/s, ticker_fps {args.ticker_fps:g} "
          f"(one step = {step:.2f} px, tolerance {tolerance:.2f} px)")
    print(f"under the band: {args.media} (items seen: {', '.join(sorted(items))})")
    print(f"frames filmed: {len(frames)} in {span:.1f} s ({len(frames) / span:.1f}/s; the output renders at most 60/s)")
    print(f"time between frames: median {statistics.median(gaps):.1f} ms, p95 {sorted(gaps)[int(len(gaps) * .95)]:.1f} ms, "
          f"max {max(gaps):.1f} ms")
    print(f"band moved {moved} px in {span:.2f} s: {moved / span:.1f} px/s (set {speed:.1f})")
    print("shift histogram: " + ", ".join(f"{k} px x{v}" for k, v in sorted(Counter(s for _, s, _, _ in rows).items())))
    print(f"worst match between consecutive bands: {max(m for *_, m in rows):.2f} grey levels (0 = pure translation)")
    worst = sorted(rows, key=lambda r: -abs(r[2]))[:5]
    print("worst departures from the clock: " + ", ".join(f"{e:+.1f} px ({s} px in {dt * 1000:.0f} ms)"
                                                        for dt, s, e, _ in worst))
    print(f"mpv CPU while filmed: {cpu * 100:.1f} % of a core; sway: {sway_cpu * 100:.1f} %; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"picture changes filmed above the band: {len(changes)} (the video's own frames count too)")
    print(f"stuttering frames: {sum(bad)}; stutter events: {events}, of which within 0.5 s of a "
          f"picture change: {at_change}")
    print(f"ticker_stutters: {events}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("compositor", "xvfb"), default="compositor")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--capture-fps", type=int, default=25, help="xvfb mode: x11grab frames per second")
    parser.add_argument("--speed", type=float, default=120.0, help="ticker_speed_px_s (at 1080 lines)")
    parser.add_argument("--ticker-fps", type=float, default=50.0)
    parser.add_argument("--media", choices=("mixed", "images", "video"), default="mixed",
                        help="what plays under the band (default: two images and a video in a loop)")
    parser.add_argument("--keep", type=Path, help="compositor mode: save one grab of the output here")
    parser.add_argument("--mpv-arg", action="append", default=[],
                        help="compositor mode: one more mpv option for the player's mpv (repeatable)")
    args = parser.parse_args()
    return compositor_mode(args) if args.mode == "compositor" else xvfb_mode(args)


if __name__ == "__main__":
    sys.exit(main())
