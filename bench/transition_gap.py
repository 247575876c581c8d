"""Transition gap: from the end of one item to the next item's first frame,
with the real player (one long-lived mpv fed a looping playlist).

    .venv/bin/python bench/transition_gap.py [--transitions 60] [--no-xvfb] [--no-compositor]

Part 1, headless (--vo=null): a second IPC client on the player's mpv socket
records mpv's events; the gap is `end-file` (reason eof) of an item to the
`playback-restart` of the next one, per kind of transition (image->image,
image->video, video->video, video->image).

Part 2, under Xvfb with a real video output (--vo=gpu on Mesa's software GL,
or --vo=x11 if that fails): the same event gaps, and the mpv window is filmed
with ffmpeg x11grab at 50 frames/s (grey frames piped to this script); any
frame after the first picture whose mean and peak brightness are near zero
counts as a black frame. All test content is bright, so a black frame can
only be a gap.

Part 3, compositor (the gate's display): the real player with its sway
backend under a headless sway (pixman, run as the unprivileged test user),
mpv --vo=wlshm, one face filling a virtual output. wf-recorder films a small
square of the output, every frame the compositor renders with its
presentation time, and the pictures alone are judged: each item has its own
colour there (the videos carry a coloured box), so the film is a run of
colours. The gap of a transition is how much later than planned the next
item's first frame came: a still image should give way its duration after
its first frame, a clip one frame time after its last new frame. A frame that is black after the first picture is a black frame. The event gaps
of part 1 are recorded alongside.

Prints the figures; the last line is `transition_gap_p95_ms: X`: the p95 of
the filmed gaps under the compositor (target <= 50 ms, with no black frame),
or the headless event p95 with --no-compositor.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.film import Recorder, read_frames  # noqa: E402
from tests.support.player import Gate, ffmpeg, gate_settings, running_player  # noqa: E402
from tests.support.sway import HeadlessSway  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

from kiosk import content  # noqa: E402
from kiosk.player.ipc import MpvIpc  # noqa: E402

W, H = 640, 360
CAPTURE_W, CAPTURE_H, FPS = 320, 180, 50


def make_media(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, colour in (("yellow", "0xFFE000"), ("cyan", "0x00E0FF"), ("white", "0xFFFFFF")):
        files[name] = folder / f"{name}.png"
        ffmpeg("-f", "lavfi", "-i", f"color=c={colour}:s={W}x{H}", "-frames:v", "1", str(files[name]))
    for name, src in (("bars", "smptehdbars"), ("pattern", "testsrc2")):
        files[name] = folder / f"{name}.mp4"
        # A box of the video's own colour on the left: the compositor part tells items apart by it.
        box = f"drawbox=x=0:y=0:w=iw/4:h=ih:color=0x{COLOURS[name][0]:02X}{COLOURS[name][1]:02X}" \
              f"{COLOURS[name][2]:02X}:t=fill"
        ffmpeg("-f", "lavfi", "-i", f"{src}=s={W}x{H}:r=25", "-t", "1", "-vf", box, "-c:v", "libx264",
               "-preset", "veryfast", "-pix_fmt", "yuv420p", str(files[name]))
    return files


PLAYLIST = [("yellow", 0.5), ("cyan", 0.5), ("bars", None), ("pattern", None), ("white", 0.5)]
VIDEO_FPS = 25  # the test clips' frame rate
# What each item shows in the filmed square (x, y, size) of the compositor part.
COLOURS = {"yellow": (255, 224, 0), "cyan": (0, 224, 255), "white": (255, 255, 255),
           "bars": (255, 0, 255), "pattern": (255, 0, 0), "black": (0, 0, 0)}
SQUARE = (40, 140, 32)


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Observer:
    """A second IPC client on an mpv socket: records (event, entry, time)."""

    def __init__(self, sock_path: str):
        self.events: queue.Queue = queue.Queue()
        self.ipc = MpvIpc(sock_path, self.events, "observer", 0)
        self.ipc.connect()

    def playlist_kinds(self, kind_of_path) -> dict[int, str]:
        return {e["id"]: kind_of_path(e["filename"]) for e in self.ipc.get("playlist", [])}

    def close(self):
        self.ipc.close()


def measure(player, kinds_by_path, transitions: int, timeout: float) -> dict[str, list[float]]:
    output = player.pictures["face-1"]
    wait_for(lambda: output.showing_picture(), timeout=60, what="first picture")
    obs = Observer(output.sock_path)
    kinds = obs.playlist_kinds(kinds_by_path.get)
    gaps: dict[str, list[float]] = {}
    pending = None  # (entry id, end time)
    deadline = time.monotonic() + timeout
    n = 0
    try:
        while n < transitions and time.monotonic() < deadline:
            try:
                ev = obs.events.get(timeout=1)
            except queue.Empty:
                continue
            if ev.name == "end-file" and ev.data.get("reason") == "eof":
                pending = (ev.data.get("playlist_entry_id"), ev.at)
            elif ev.name == "start-file" and pending:
                pending = (pending[0], pending[1], ev.data.get("playlist_entry_id"))
            elif ev.name == "playback-restart" and pending and len(pending) == 3:
                a, b = kinds.get(pending[0]), kinds.get(pending[2])
                gaps.setdefault(f"{a}->{b}", []).append((ev.at - pending[1]) * 1000)
                pending = None
                n += 1
    finally:
        obs.close()
    return gaps


def report(title: str, gaps: dict[str, list[float]]) -> list[float]:
    print(f"== {title}")
    every = []
    for kind, values in sorted(gaps.items()):
        every += values
        print(f"  {kind:16s} n={len(values):3d}  median {statistics.median(values):6.1f} ms  "
              f"p95 {percentile(values, 95):6.1f} ms  max {max(values):6.1f} ms")
    if every:
        print(f"  {'all':16s} n={len(every):3d}  median {statistics.median(every):6.1f} ms  "
              f"p95 {percentile(every, 95):6.1f} ms  max {max(every):6.1f} ms")
    return every


def setup_gate(tmp: Path, media: dict[str, Path]):
    state = tmp / "state"
    state.mkdir()
    gate = Gate(state, media)
    content.set_playlist(gate.db, "bench", "Bench", [(gate.sha[n], d) for n, d in PLAYLIST])
    content.add_schedule_entry(gate.db, "bench", [1])
    kinds = {str(gate.store.path(gate.sha[n])): ("video" if d is None else "image") for n, d in PLAYLIST}
    return state, gate, kinds


def headless(media: dict[str, Path], transitions: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        state, gate, kinds = setup_gate(Path(tmp), media)
        with running_player(gate_settings(state, mpv_vo="null")) as player:
            gaps = measure(player, kinds, transitions, timeout=transitions * 3 + 60)
        gate.db.close()
    return report("headless, mpv --vo=null", gaps)


class Xvfb:
    def __init__(self):
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
            pass_fds=(write,), stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as f:
            self.display = ":" + f.readline().strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Filmer:
    """ffmpeg x11grab of the mpv window; counts black frames after the first picture."""

    def __init__(self, display: str):
        self.proc = subprocess.Popen(
            ["ffmpeg", "-loglevel", "error", "-f", "x11grab", "-framerate", str(FPS),
             "-video_size", f"{CAPTURE_W}x{CAPTURE_H}", "-i", f"{display}+0,0",
             "-f", "rawvideo", "-pix_fmt", "gray", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.frames = 0
        self.black = 0
        self.black_runs: list[int] = []
        self.seen_picture = False
        self.changes = 0  # picture changes seen: proves the film sees the transitions
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        size = CAPTURE_W * CAPTURE_H
        run = 0
        last = None
        while True:
            frame = self.proc.stdout.read(size)
            if len(frame) < size:
                break
            mean = sum(frame[::37]) / len(frame[::37])  # a sample of pixels is plenty
            dark = mean < 12 and max(frame[::37]) < 40
            if last is not None and abs(mean - last) > 8:
                self.changes += 1
            last = mean
            if not dark:
                self.seen_picture = True
                if run:
                    self.black_runs.append(run)
                run = 0
            elif self.seen_picture:
                self.black += 1
                run += 1
            if self.seen_picture:
                self.frames += 1

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.thread.join(timeout=5)


def under_xvfb(media: dict[str, Path], transitions: int) -> None:
    if shutil.which("Xvfb") is None:
        print("== Xvfb not installed: black-frame check skipped")
        return
    xvfb = Xvfb()
    runtime = tempfile.mkdtemp(prefix="xdg-")
    os.environ["DISPLAY"], os.environ["XDG_RUNTIME_DIR"] = xvfb.display, runtime
    try:
        for vo_args in (["--vo=gpu", "--gpu-context=x11egl"], ["--vo=x11"]):
            with tempfile.TemporaryDirectory() as tmp:
                state, gate, kinds = setup_gate(Path(tmp), media)
                output = {"name": "main", "width": W, "height": H, "mpv_args": [
                    *vo_args, "--fullscreen=no", f"--geometry={CAPTURE_W}x{CAPTURE_H}+0+0",
                    f"--autofit={CAPTURE_W}x{CAPTURE_H}"]}
                with running_player(gate_settings(state, mpv_vo=vo_args[0][5:], outputs=[output])) as player:
                    filmer = Filmer(xvfb.display)
                    try:
                        gaps = measure(player, kinds, transitions, timeout=transitions * 4 + 60)
                    finally:
                        filmer.stop()
                gate.db.close()
            if not gaps:
                print(f"== Xvfb {' '.join(vo_args)}: no transitions measured (vo failed?)")
                continue
            report(f"Xvfb, mpv {' '.join(vo_args)}", gaps)
            print(f"  filmed {filmer.frames} frames at {FPS} fps after the first picture, "
                  f"{filmer.changes} picture changes seen: {filmer.black} black frames "
                  f"(runs: {filmer.black_runs or 'none'})")
            print(f"black_frames_{vo_args[0][5:]}: {filmer.black}")
    finally:
        xvfb.stop()
        shutil.rmtree(runtime, ignore_errors=True)
        os.environ.pop("DISPLAY", None)


def colour_of(frame) -> str:
    """The item colour nearest to the square's mean colour ("?" when none is near)."""
    mean = ImageStat.Stat(frame).mean
    name, distance = min(((n, sum(abs(a - b) for a, b in zip(mean, c))) for n, c in COLOURS.items()),
                         key=lambda nd: nd[1])
    return name if distance < 60 else "?"


def judge_film(frames) -> tuple[dict[str, list[float]], int, list[str]]:
    """Gaps per kind of transition (ms), black frames, and the run of colours.

    An item should give way at a planned moment: a still image its duration
    after its first frame; a clip one frame time (1/25 s) after its last new
    frame (a clip that falls behind under load shows its frames later, which
    is the clip's lateness, not the transition's). The gap is how much later
    than that the next item's first frame came.
    """
    runs: list[list] = []  # [colour, first time, last time, frames]
    for t, frame in frames:
        colour = colour_of(frame)
        if runs and runs[-1][0] == colour:
            runs[-1][2] = t
            runs[-1][3] += 1
        else:
            runs.append([colour, t, t, 1])
    black = sum(n for i, (c, _, _, n) in enumerate(runs) if c == "black" and i > 0)
    durations = dict(PLAYLIST)
    kind = {n: ("video" if d is None else "image") for n, d in PLAYLIST}
    gaps: dict[str, list[float]] = {}
    # The first run started before the film did: its first frame is not the item's.
    for (a, first, last, _), (b, tb, _, _) in zip(runs[1:], runs[2:]):
        if a in durations and b in durations:
            planned = first + durations[a] if durations[a] is not None else last + 1 / VIDEO_FPS
            gaps.setdefault(f"{kind[a]}->{kind[b]}", []).append((tb - planned) * 1000)
    return gaps, black, [f"{c}x{n}" for c, _, _, n in runs]


def under_sway(media: dict[str, Path], transitions: int) -> list[float]:
    x, y, size = SQUARE
    with tempfile.TemporaryDirectory() as tmp:
        state, gate, kinds = setup_gate(Path(tmp), media)
        settings = gate_settings(state, display="sway", mpv_vo="wlshm",
                                 outputs=[{"name": "main", "connector": "HEADLESS-1", "width": W, "height": H}])
        sway = HeadlessSway(((W, H),)).start()
        saved = {k: os.environ.get(k) for k in ("WAYLAND_DISPLAY", "SWAYSOCK")}
        os.environ.update(sway.env())
        try:
            with running_player(settings) as player:
                wait_for(lambda: colour_of(sway.grab("HEADLESS-1").crop((x, y, x + size, y + size)))
                         in COLOURS.keys() - {"black"}, timeout=120, what="the playlist on the output")
                recorder = Recorder(sway, "HEADLESS-1", f"{x},{y} {size}x{size}", Path(tmp) / "film.nut")
                try:
                    events = measure(player, kinds, transitions, timeout=transitions * 4 + 60)
                finally:
                    recorder.stop()
        finally:
            sway.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        frames = read_frames(recorder.path, "RGB")
        gate.db.close()
    report("headless sway, the player's sway backend, mpv --vo=wlshm: event gaps", events)
    gaps, black, runs = judge_film(frames)
    every = report("the same, filmed (first frame of B - when A should have given way)", gaps)
    span = frames[-1][0] - frames[0][0] if frames else 0
    print(f"  filmed {len(frames)} frames in {span:.1f} s, {len(runs)} runs of colour; "
          f"black frames after the first picture: {black}")
    odd = [r for r in runs if r.startswith(("?", "black"))]
    if odd:
        print(f"  frames that were no item's colour: {odd}")
    print(f"transition_gap_compositor_p95_ms: {percentile(every, 95):.1f}")
    print(f"black_frames_compositor: {black}")
    return every


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transitions", type=int, default=60)
    parser.add_argument("--no-xvfb", action="store_true")
    parser.add_argument("--no-compositor", action="store_true")
    args = parser.parse_args()
    os.environ.pop("DISPLAY", None)
    with tempfile.TemporaryDirectory() as tmp:
        media = make_media(Path(tmp) / "media")
        every = headless(media, args.transitions)
        print(f"transition_gap_headless_p95_ms: {percentile(every, 95):.1f}")
        if not args.no_xvfb:
            under_xvfb(media, args.transitions)
        if not args.no_compositor:
            every = under_sway(media, args.transitions)
    print(f"transition_gap_p95_ms: {percentile(every, 95):.1f}")


if __name__ == "__main__":
    main()
