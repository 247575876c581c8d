"""Starting and stopping one mpv process for one picture.

mpv runs as a separate process (never libmpv inside the controller) so that a
decoder crash takes down only that picture's mpv; the player loop restarts it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Mapping, Sequence

from kiosk.player.ipc import MpvError, MpvIpc

# mpv options every picture gets. Why each:
BASE_ARGS = (
    "--no-config",  # a user's ~/.config/mpv must not change what a face shows
    "--idle=yes",  # stay alive with an empty playlist (black), wait for items
    "--loop-playlist=inf",  # playlists loop; mpv skips bad files and idles if all are bad
    "--keep-open=no",  # keep-open=always pauses after every item (PLATFORM-NOTES)
    "--image-display-duration=inf",  # per-item durations come with each loadfile
    "--prefetch-playlist=yes",  # open the next item early: shorter transitions
    "--terminal=no",  # our stdout carries JSON log lines only
    "--input-default-bindings=no",
    "--input-vo-keyboard=no",
    "--osc=no",
    # No built-in Lua helpers (youtube-dl hook, stats, console): faster start,
    # less memory, nothing that reaches the network.
    "--ytdl=no",
    "--load-stats-overlay=no",
    "--load-osd-console=no",
    "--load-auto-profiles=no",
    "--osd-level=0",
    "--cursor-autohide=always",
    "--stop-screensaver=yes",
    "--hr-seek=yes",
)


def display_available(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def build_args(
    mpv_path: str,
    sock_path: str,
    display_args: Sequence[str],
    extra: Sequence[str] = (),
    output_args: Sequence[str] = (),
) -> list[str]:
    """The full mpv command line for one picture: the display's video output
    and placement, plugins' extras, then the output's own mpv_args (they win)."""
    return [mpv_path, *BASE_ARGS, f"--input-ipc-server={sock_path}", *display_args, *extra,
            *output_args]


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    # If the controller is killed outright, its mpv must not live on showing
    # stale content on a face nobody controls: ask the kernel to SIGTERM it.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class MpvProcess:
    """One running mpv: the child process and, once its socket is up, the IPC."""

    def __init__(self, args: list[str], sock_path: str, picture: str, generation: int, events,
                 env: Mapping[str, str] | None = None):
        self.args = args
        self.sock_path = sock_path
        self.picture = picture
        self.generation = generation
        self.events = events
        self.started_at = time.monotonic()
        self.ipc: MpvIpc | None = None
        Path(sock_path).unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            close_fds=True,
            env=None if env is None else dict(env),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def try_connect(self) -> bool:
        """Connect once the socket exists; False while mpv is still starting."""
        if self.ipc is not None:
            return True
        if not os.path.exists(self.sock_path):
            return False
        ipc = MpvIpc(self.sock_path, self.events, self.picture, self.generation)
        try:
            ipc.connect(timeout=0.5)
        except MpvError:
            return False
        self.ipc = ipc
        return True

    def stop(self, timeout: float = 2.0) -> None:
        """Ask mpv to quit, then make sure it is gone (and reaped)."""
        if self.ipc is not None:
            try:
                if self.alive():
                    self.ipc.command("quit", timeout=0.5)
            except MpvError:
                pass
            self.ipc.close()
        if self.alive():
            self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
        Path(self.sock_path).unlink(missing_ok=True)

    def exit_description(self) -> str:
        rc = self.proc.poll()
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                return f"killed by signal {-rc}"
        return f"exited with status {rc}"
