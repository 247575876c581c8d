"""Ticker smoothness: film the ticker band for 30 s and judge its motion from the
pictures, across item changes.

The real player (display `sway`, mpv --vo=wlshm,
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

The band moves once per refresh (60 Hz here): a refresh that shows it where
the one before did is a held refresh (judder a viewer sees as a jerk). Only
frames with damage are filmed, so a refresh with no new band frame is a gap
between filmed frames: held refreshes are counted from the frame times too
(an upper bound: a frame wf-recorder missed on a busy machine counts as held).

Last line: `ticker_stutters: X` (stutter events).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from PIL import Image, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk import content  # noqa: E402
from kiosk.text import ticker  # noqa: E402
from kiosk.text.notices import set_notice  # noqa: E402
from kiosk.text.plugin import TextPlugin  # noqa: E402
from tests.support.film import Recorder, read_frames  # noqa: E402
from tests.support.player import Gate, cpu_seconds, gate_settings, mpv_pid, running_player  # noqa: E402
from tests.support.sway import HeadlessSway  # noqa: E402
from tests.support.text import SAMPLES, band_shift  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

LANGUAGES = ("vi", "lo", "km", "en")
ABOVE = 6  # rows of the picture filmed above the band
REFRESH = 60.0  # Hz: sway's headless outputs
BAND_RGB = (11, 61, 145)  # ticker_background #0B3D91


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=300)


def make_media(folder: Path, width: int, height: int) -> list[str]:
    a, b, clip = folder / "a.png", folder / "b.png", folder / "clip.mp4"
    Image.new("RGB", (width, height), (20, 140, 20)).save(a)
    Image.new("RGB", (width, height), (150, 30, 30)).save(b)
    ffmpeg("-f", "lavfi", "-i", f"testsrc=s={width}x{height}:r=25", "-t", "4", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(clip))
    return [str(a), str(b), str(clip)]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def compositor_mode(args) -> int:
    width, height = (int(v) for v in args.size.split("x"))
    speed = args.speed * height / 1080
    rate = args.ticker_fps or REFRESH  # 0: the band moves once per refresh of the output
    step = max(1.0, speed / rate)  # whole-pixel moves, at most `rate` a second
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
            ticker_position="bottom", ticker_color="#FFFFFF", ticker_background="#0B3D91")
        band_h = ticker.band_height({"height": 0.08}, height)
        sway = HeadlessSway(((width, height),)).start()
        saved = {k: os.environ.get(k) for k in ("WAYLAND_DISPLAY", "SWAYSOCK")}
        os.environ.update(sway.env())
        try:
            with running_player(settings, plugins=[TextPlugin], extra_mpv_args=args.mpv_arg) as player:
                wait_for(lambda: gate.playing() in ("a", "b", "clip"), timeout=120, what="the playlist on screen")
                set_notice(gate.db, {k: SAMPLES[k] for k in LANGUAGES}, kind="ticker")
                band_box = (0, height - band_h, width, height)

                def band_on_screen() -> bool:
                    # The band's own colour over most of its rows, and its white text
                    # (the test clip has white and black of its own there).
                    band = sway.grab("HEADLESS-1").crop(band_box).convert("RGB")
                    colours = band.getcolors(1 << 20)
                    blue = sum(n for n, c in colours if all(abs(a - b) < 12 for a, b in zip(c, BAND_RGB)))
                    return blue > 0.5 * band.width * band.height and band.convert("L").getextrema()[1] > 200

                wait_for(band_on_screen, timeout=120, what="the band with its text")
                time.sleep(1.0)
                sway.grab("HEADLESS-1").save(tmp / "during.png")
                if args.keep:
                    (tmp / "during.png").replace(args.keep)
                pid = mpv_pid(player)
                band_pid = player.bands["face-1"].proc.pid
                cpu0, band0, sway0 = cpu_seconds(pid), cpu_seconds(band_pid), cpu_seconds(sway.proc.pid)
                # The band and, above it, a few rows of the picture: they tell item changes.
                recorder = Recorder(sway, "HEADLESS-1", f"0,{height - band_h - ABOVE} {width}x{band_h + ABOVE}",
                                    tmp / "band.nut").film(args.seconds)
                cpu = (cpu_seconds(pid) - cpu0) / args.seconds
                band_cpu = (cpu_seconds(band_pid) - band0) / args.seconds
                band_rss = rss_mb(band_pid)
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
    print(f"band's mpv: RSS {band_rss:.1f} MB")
    print(f"CPU while filmed: the picture's mpv {cpu * 100:.1f} % of a core, the band's mpv {band_cpu * 100:.1f} %; sway: {sway_cpu * 100:.1f} %; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"picture changes filmed above the band: {len(changes)} (the video's own frames count too)")
    per_refresh = speed / REFRESH
    if per_refresh >= 1:
        # Refreshes between two filmed frames beyond the first showed nothing
        # new; a filmed frame whose band did not move is held too.
        held = sum(max(0, round(dt * REFRESH) - 1) + (1 if s == 0 else 0) for dt, s, _, _ in rows)
        refreshes = round(span * REFRESH)
        print(f"held refreshes (the band should move {per_refresh:.2f} px at every one): {held} of {refreshes} "
              f"({held / refreshes * 100:.1f} %)")
    print(f"stuttering frames: {sum(bad)}; stutter events: {events}, of which within 0.5 s of a "
          f"picture change: {at_change}")
    print(f"ticker_stutters: {events}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--speed", type=float, default=120.0, help="ticker_speed_px_s (at 1080 lines)")
    parser.add_argument("--ticker-fps", type=float, default=0.0,
                        help="ticker_fps (0, the default: the output's refresh rate, 60 Hz here)")
    parser.add_argument("--media", choices=("mixed", "images", "video"), default="mixed",
                        help="what plays under the band (default: two images and a video in a loop)")
    parser.add_argument("--keep", type=Path, help="compositor mode: save one grab of the output here")
    parser.add_argument("--mpv-arg", action="append", default=[],
                        help="compositor mode: one more mpv option for the player's mpv (repeatable)")
    args = parser.parse_args()
    return compositor_mode(args)


if __name__ == "__main__":
    sys.exit(main())
