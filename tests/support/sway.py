"""A real sway, headless, with virtual outputs, for tests and benchmarks.

sway refuses to run as root, so it runs as the unprivileged user that
scripts/setup.sh creates (SWAY_USER), with its own XDG_RUNTIME_DIR (0700);
root (the tests, the player, grim) connects to its sockets. `env()` gives
what a gate's player unit gets: WAYLAND_DISPLAY and SWAYSOCK.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from PIL import Image

from tests.support.wait import wait_for

SWAY_USER = os.environ.get("GATECAST_TEST_SWAY_USER", "gatecast-test")


class HeadlessSway:
    def __init__(self, outputs: tuple[tuple[int, int], ...] = ((640, 360), (640, 360))):
        self.outputs = outputs
        self.user = pwd.getpwnam(SWAY_USER)
        # Short path: Unix socket names are limited to ~108 bytes.
        self.runtime = Path(tempfile.mkdtemp(prefix="gc-sway-", dir="/tmp"))
        os.chown(self.runtime, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.runtime, 0o700)
        self.config = self.runtime / "config"
        lines = ["xwayland disable", "default_border none", "default_floating_border none",
                 "focus_follows_mouse no"]
        x = 0
        for i, (w, h) in enumerate(outputs, 1):
            lines.append(f"output HEADLESS-{i} resolution {w}x{h} position {x} 0 "
                         "bg #000000 solid_color")
            x += w
        self.config.write_text("\n".join(lines) + "\n")
        os.chown(self.config, self.user.pw_uid, self.user.pw_gid)
        self.proc: subprocess.Popen | None = None
        self.log = self.runtime / "sway.log"

    # ---- life -------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> "HeadlessSway":
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.runtime), "XDG_RUNTIME_DIR": str(self.runtime),
               "WLR_BACKENDS": "headless", "WLR_HEADLESS_OUTPUTS": str(len(self.outputs)),
               "WLR_RENDERER": "pixman", "WLR_LIBINPUT_NO_DEVICES": "1"}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["sway", "-c", str(self.config)], env=env, user=self.user.pw_uid,
                                         group=self.user.pw_gid, extra_groups=[], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        wait_for(lambda: self.ipc_socket() and self.wayland_socket() and self._answers(), timeout=timeout,
                 what=f"sway to start (log {self.log})")
        return self

    def kill(self) -> None:
        """Kill the compositor outright (as a crash would)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.runtime, ignore_errors=True)

    # ---- sockets ----------------------------------------------------------
    def ipc_socket(self) -> str | None:
        if self.proc is None:
            return None
        path = self.runtime / f"sway-ipc.{self.user.pw_uid}.{self.proc.pid}.sock"
        return str(path) if path.exists() else None

    def wayland_socket(self) -> str | None:
        found = sorted(p for p in self.runtime.glob("wayland-*") if not p.name.endswith(".lock"))
        return str(found[0]) if found else None

    def _answers(self) -> bool:
        return subprocess.run(["swaymsg", "-s", self.ipc_socket(), "-t", "get_outputs"],
                              capture_output=True, timeout=10).returncode == 0

    def env(self) -> dict[str, str]:
        """What the gate's player unit gets to find the compositor."""
        return {"WAYLAND_DISPLAY": Path(self.wayland_socket()).name, "SWAYSOCK": self.ipc_socket()}

    # ---- looking at it ----------------------------------------------------
    def msg(self, *args: str) -> str:
        done = subprocess.run(["swaymsg", "-s", self.ipc_socket(), *args], capture_output=True, text=True,
                              timeout=10)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def grab(self, output: str, path: Path | None = None) -> Image.Image:
        """The output's pixels as shown (grim, like the player's screenshots)."""
        # PPM: grim's PNG compression costs more than the capture itself.
        path = path or self.runtime / f"grab-{output}-{time.monotonic_ns()}.ppm"
        env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(self.runtime),
               "WAYLAND_DISPLAY": Path(self.wayland_socket()).name}
        kind = "png" if path.suffix == ".png" else "ppm"
        subprocess.run(["grim", "-t", kind, "-o", output, str(path)], env=env, check=True,
                       capture_output=True, timeout=20)
        with Image.open(path) as im:
            image = im.convert("RGB")
        if path.parent == self.runtime:
            path.unlink()
        return image
