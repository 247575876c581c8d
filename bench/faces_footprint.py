"""Four pictures on two outputs under a real headless sway: start to first
frame on every face, controller memory, each mpv's memory.

    .venv/bin/python bench/faces_footprint.py [--starts 3] [--size 1280x720] [--ticker]

Runs the real `gatecast player` process (display sway, mpv --vo=wlshm: no GPU
here) against a headless sway with two virtual outputs (as root: sway runs as
the unprivileged test user scripts/setup.sh creates), four faces in four
regions, each with its own schedule (one of them a looping H.264 video).

- start to first frame: from spawning `gatecast player` until a grim capture
  of each output shows every face's own picture in its region (what a person
  would see), and, from the player's log, each picture's "playing" line.
- memory: the controller's VmRSS and each mpv's VmRSS after 20 s of playing.
- recovery: output HEADLESS-2 disabled for 2 s and enabled, then sway killed
  (SIGKILL) and started again: time until every face shows its picture again.
- `--ticker`: a ticker notice on every face first, so each picture also has
  its band's mpv (kiosk/player/band.py): their memory is listed apart, and
  recovery waits for the bands too.

Last line: `faces_first_frame_s: X` (median over the starts; target <= 3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.support.player import Gate, ffmpeg  # noqa: E402
from tests.support.sway import HeadlessSway  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

from kiosk import content  # noqa: E402
from kiosk.text.notices import set_notice  # noqa: E402

GATECAST = str(Path(sys.executable).parent / "gatecast")
COLOURS = {1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255), 4: (255, 255, 255)}


def config(w: int, h: int) -> str:
    half = w // 2
    lines = ['display = "sway"', 'mpv_vo = "wlshm"', "screenshot_interval_s = 30", ""]
    for name, conn in (("vn", "HEADLESS-1"), ("cn", "HEADLESS-2")):
        lines += ["[[outputs]]", f'name = "{name}"', f'connector = "{conn}"', f"width = {w}",
                  f"height = {h}", ""]
    for face, (output, x) in {1: ("vn", 0), 2: ("vn", half), 3: ("cn", 0), 4: ("cn", half)}.items():
        lines += ["[[faces]]", f"id = {face}", f'name = "Face {face}"', f'output = "{output}"',
                  f"region = {{ x = {x}, y = 0, width = {half}, height = {h} }}", ""]
    return "\n".join(lines)


def make_media(folder: Path, w: int, h: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for face, rgb in COLOURS.items():
        path = folder / f"face{face}.png"
        Image.new("RGB", (w // 2, h), rgb).save(path)
        files[f"face{face}"] = path
    clip = folder / "clip.mp4"
    # Face 4's schedule: white image then a video with a white frame band.
    ffmpeg("-f", "lavfi", "-i", f"color=c=white:s={w // 2}x{h}:r=25", "-t", "5", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(clip))
    files["clip"] = clip
    return files


def near(a, b, tol=20) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def every_face_shows(sway: HeadlessSway, w: int, h: int) -> bool:
    grabs = {o: sway.grab(o) for o in ("HEADLESS-1", "HEADLESS-2")}
    half = w // 2
    where = {1: ("HEADLESS-1", 0), 2: ("HEADLESS-1", half), 3: ("HEADLESS-2", 0), 4: ("HEADLESS-2", half)}
    for face, (output, x0) in where.items():
        for dx in (20, half // 2, half - 20):
            if not near(grabs[output].getpixel((x0 + dx, h // 2)), COLOURS[face]):
                return False
    return True


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


BAND_RGB = (11, 61, 145)  # ticker_background's default


def every_band_shows(sway: HeadlessSway, w: int, h: int) -> bool:
    grabs = {o: sway.grab(o) for o in ("HEADLESS-1", "HEADLESS-2")}
    y = h - round(h * 0.08) + 2  # ticker_height's default: the band's rows
    return all(near(grabs[o].getpixel((x + 2, y)), BAND_RGB) for o in grabs for x in (0, w // 2))


def one_start(tmp: Path, sway: HeadlessSway, media: dict, w: int, h: int, n: int, ticker: bool = False) -> dict:
    state = tmp / f"state{n}"
    state.mkdir()
    cfg = tmp / f"gatecast{n}.toml"
    cfg.write_text(config(w, h))
    gate = Gate(state, media)
    for face in range(1, 5):
        items = [(gate.sha[f"face{face}"], 60.0)] if face != 4 else [(gate.sha["clip"], None)]
        content.set_playlist(gate.db, f"p{face}", f"P{face}", items)
        content.add_schedule_entry(gate.db, f"p{face}", [face])
    if ticker:
        set_notice(gate.db, {"vi": "Cửa khẩu mở cửa từ 7 giờ đến 19 giờ", "en": "Open 7:00-19:00"}, kind="ticker")
    gate.db.close()
    shown = (lambda: every_face_shows(sway, w, h) and every_band_shows(sway, w, h)) if ticker else (
        lambda: every_face_shows(sway, w, h))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
    env.pop("DISPLAY", None)
    env.update(sway.env())
    env["GPIOZERO_PIN_FACTORY"] = "mock"
    log = tmp / f"player{n}.log"
    t0 = time.monotonic()
    wall0 = datetime.now(timezone.utc)
    with open(log, "w") as out:
        proc = subprocess.Popen([GATECAST, "player", "--config", str(cfg), "--state", str(state)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(shown, timeout=120, interval=0.02, what="every face's picture on the outputs")
        seen_s = time.monotonic() - t0
        time.sleep(20)
        lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
        started = next(x for x in lines if x["msg"] == "player starting")["ts"]
        playing, placed = {}, {}
        for x in lines:
            if x["msg"] == "playing" and x["picture"] not in playing:
                playing[x["picture"]] = x["ts"]
            if x["msg"] == "picture placed" and x["picture"] not in placed:
                placed[x["picture"]] = x["ts"]
        ts = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
        log_s = {p: round((ts(t) - ts(started)).total_seconds(), 3) for p, t in sorted(playing.items())}
        placed_s = {p: round((ts(t) - ts(started)).total_seconds(), 3) for p, t in sorted(placed.items())}
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        bands = {p for p in children if b"band-face-" in Path(f"/proc/{p}/cmdline").read_bytes()}
        mpv_mb = sorted(rss_mb(int(p)) for p in children if p not in bands)
        band_mb = sorted(rss_mb(int(p)) for p in bands)
        controller_mb = rss_mb(proc.pid)
        # Recovery: an output unplugged and back, then the compositor killed and restarted.
        sway.msg("output", "HEADLESS-2", "disable")
        time.sleep(2)
        sway.msg("output", "HEADLESS-2", "enable")
        t1 = time.monotonic()
        wait_for(shown, timeout=120, interval=0.02, what="after enable")
        enable_s = time.monotonic() - t1
        sway.kill()
        time.sleep(2)
        sway.start()
        t1 = time.monotonic()
        wait_for(shown, timeout=120, interval=0.02, what="after restart")
        restart_s = time.monotonic() - t1
        return {"enable_s": enable_s, "restart_s": restart_s, "seen_s": seen_s, "log_s": log_s, "placed_s": placed_s,
                "started_s": (ts(started) - wall0).total_seconds(), "controller_mb": controller_mb,
                "mpv_mb": mpv_mb, "band_mb": band_mb}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--size", default="1280x720", help="each output's size")
    parser.add_argument("--ticker", action="store_true", help="a ticker band on every face (its own mpv each)")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    sway = HeadlessSway(((w, h), (w, h))).start()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            media = make_media(tmp / "media", w, h)
            runs = [one_start(tmp, sway, media, w, h, n, args.ticker) for n in range(args.starts)]
    finally:
        sway.stop()
    for i, r in enumerate(runs, 1):
        print(f"start {i}: every face on screen after {r['seen_s']:.2f} s (player process up and "
              f"logging after {r['started_s']:.2f} s); first 'playing' per picture "
              f"(s after 'player starting'): {r['log_s']}; moved by the placement pass (none when sway's "
              f"window rules placed them at map time): {r['placed_s']}; controller RSS {r['controller_mb']:.1f} MB; "
              f"mpv RSS {', '.join(f'{m:.1f}' for m in r['mpv_mb'])} MB; "
              + (f"band mpv RSS {', '.join(f'{m:.1f}' for m in r['band_mb'])} MB; " if r["band_mb"] else "")
              + f"every picture{' and band' if args.ticker else ''} back "
              f"{r['enable_s']:.2f} s after an output came back, {r['restart_s']:.2f} s after sway restarted")
    seen = [r["seen_s"] for r in runs]
    print(f"outputs: 2 x {w}x{h} (headless sway 1.7, pixman), 4 pictures, mpv --vo=wlshm"
          + (", a ticker band on every face" if args.ticker else ""))
    print(f"controller RSS: median {statistics.median(r['controller_mb'] for r in runs):.1f} MB")
    print(f"mpv RSS each: median {statistics.median(m for r in runs for m in r['mpv_mb']):.1f} MB, "
          f"max {max(m for r in runs for m in r['mpv_mb']):.1f} MB")
    if args.ticker:
        print(f"band mpv RSS each: median {statistics.median(m for r in runs for m in r['band_mb']):.1f} MB, "
              f"max {max(m for r in runs for m in r['band_mb']):.1f} MB")
    print(f"every face{' and band' if args.ticker else ''} on screen: median {statistics.median(seen):.2f} s, worst {max(seen):.2f} s")
    back = [r["restart_s"] for r in runs]
    print(f"pictures back after a compositor restart: median {statistics.median(back):.2f} s, "
          f"worst {max(back):.2f} s; after an output came back: worst "
          f"{max(r['enable_s'] for r in runs):.2f} s (target 5 s)")
    print(f"faces_first_frame_s: {statistics.median(seen):.2f}")


if __name__ == "__main__":
    main()
