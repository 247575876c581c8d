"""Filming a headless sway output with wf-recorder, for benchmarks that judge
what was shown rather than what the player says it did.

wf-recorder asks the compositor (wlr-screencopy) for each frame the output
renders with damage in the filmed area, and stamps it with the compositor's
own presentation time (times in a film count from its first frame), so the
frames and their times are what a screen would have shown. Frames come back
as PIL images with those times.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from PIL import Image

from tests.support.sway import HeadlessSway


class Recorder:
    """wf-recorder filming `geometry` ("x,y WxH", layout pixels) of one output into a file."""

    def __init__(self, sway: HeadlessSway, output: str, geometry: str, path: Path):
        self.path = Path(path)
        self.path.unlink(missing_ok=True)  # wf-recorder asks before overwriting, on stdin
        env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(sway.runtime),
               "WAYLAND_DISPLAY": Path(sway.wayland_socket()).name}
        self.log = self.path.with_suffix(".log")
        with open(self.log, "wb") as log:
            # Raw frames: no encoder between the compositor and the judge.
            self.proc = subprocess.Popen(
                ["wf-recorder", "-o", output, "-g", geometry, "-c", "rawvideo", "-m", "nut", "-f", str(self.path)],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # writes the trailer
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:  # waits for a frame that never comes
                self.proc.kill()
                self.proc.wait(timeout=10)

    def film(self, seconds: float) -> "Recorder":
        time.sleep(seconds)
        self.stop()
        return self


def read_frames(path: Path, mode: str = "L") -> list[tuple[float, Image.Image]]:
    """(presentation time in s, picture) of every frame in a filmed file, grey ("L") or "RGB"."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height:frame=pts_time", "-of", "json", str(path)],
                           capture_output=True, text=True, timeout=300, check=True)
    info = json.loads(probe.stdout)
    width, height = info["streams"][0]["width"], info["streams"][0]["height"]
    times = [float(f["pts_time"]) for f in info.get("frames", []) if "pts_time" in f]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-fps_mode", "passthrough",
                          "-f", "rawvideo", "-pix_fmt", {"L": "gray", "RGB": "rgb24"}[mode], "-"],
                         capture_output=True, timeout=600, check=True).stdout
    size = width * height * len(mode)
    count = min(len(times), len(raw) // size)
    return [(times[i], Image.frombytes(mode, (width, height), raw[i * size:(i + 1) * size])) for i in range(count)]
