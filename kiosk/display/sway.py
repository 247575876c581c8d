"""sway, the gate's kiosk compositor: it owns both HDMI outputs; each picture
is an mpv window with its own app id (`gatecast-face-N`), placed through
sway's IPC at its output and region, floating and borderless (also when the
region is the whole output: sway draws nothing over a full-screen window, and
a picture's ticker band, `gatecast-band-face-N`, is a window of its own that
must show above it).

The compositor is found through the standard WAYLAND_DISPLAY and SWAYSOCK
variables. sway names its IPC socket after its pid, so after a restart the
socket SWAYSOCK names may be gone: the newest `sway-ipc.*.sock` next to it
is used instead. Windows are checked against where they belong every
PLACE_INTERVAL_S and moved back when they are not there: after a compositor
restart (mpv dies with it and is restarted), or an output that disappears
(its windows wait in the scratchpad, hidden, instead of covering another
output's pictures) and comes back. A band found below its picture is raised.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from kiosk.display.base import Display, DisplayError
from kiosk.jsonlog import log
from kiosk.settings import OutputConfig, Picture

logger = logging.getLogger("gatecast.display")

PLACE_INTERVAL_S = 0.5
PLACE_SOON_S = 0.05  # while a running picture's window is not where it belongs
APP_ID_PREFIX = "gatecast-"
_MAGIC = b"i3-ipc"
_HEADER = struct.Struct("=6sII")
RUN_COMMAND, GET_OUTPUTS, GET_TREE = 0, 3, 4


class SwayIpc:
    """A minimal client of sway's IPC (the i3 protocol: magic, length, type, JSON)."""

    def __init__(self, path: str, timeout: float = 2.0):
        self.path = path
        # The loop places windows while a capture thread asks for outputs:
        # one request and its reply at a time, or replies get swapped.
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise

    def request(self, kind: int, payload: str = ""):
        data = payload.encode()
        with self._lock:
            self.sock.sendall(_HEADER.pack(_MAGIC, len(data), kind) + data)
            magic, length, reply_kind = _HEADER.unpack(self._read(_HEADER.size))
            body = self._read(length)
        if magic != _MAGIC or reply_kind != kind:
            raise OSError(f"unexpected sway IPC reply (type {reply_kind} to a request of type {kind})")
        return json.loads(body)

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise OSError("sway closed the IPC connection")
            buf += chunk
        return buf

    def command(self, text: str) -> list[dict]:
        return self.request(RUN_COMMAND, text)

    def close(self) -> None:
        self.sock.close()


def app_id(picture: Picture) -> str:
    return APP_ID_PREFIX + picture.name  # gatecast-face-N


class SwayDisplay(Display):
    name = "sway"
    captures_outputs = True
    shows_windows = True

    def __init__(self, settings, layout, env):
        super().__init__(settings, layout, env)
        self._ipc: SwayIpc | None = None
        self._next_place = 0.0
        self._placed: dict[str, tuple] = {}  # picture -> where we last put it (for the log)
        self._unsettled = False
        self._connect_lock = threading.Lock()
        self._extra: tuple[Picture, ...] = ()  # band windows, placed above their pictures
        self._ruled: set[tuple] = set()  # (window, output, region) with a window rule in this sway

    def next_due(self) -> float | None:
        return self._next_place if self._unsettled else None

    # ---- finding the compositor -----------------------------------------
    def _runtime_dirs(self) -> list[str]:
        dirs = []
        for value in (self.env.get("SWAYSOCK"), ):
            if value:
                dirs.append(os.path.dirname(value))
        if self.env.get("XDG_RUNTIME_DIR"):
            dirs.append(self.env["XDG_RUNTIME_DIR"])
        return list(dict.fromkeys(d for d in dirs if d))

    def ipc_candidates(self) -> list[str]:
        found = []
        if self.env.get("SWAYSOCK"):
            found.append(self.env["SWAYSOCK"])
        for d in self._runtime_dirs():
            socks = glob.glob(os.path.join(d, "sway-ipc.*.sock"))
            socks.sort(key=lambda p: os.stat(p).st_mtime if os.path.exists(p) else 0, reverse=True)
            found += socks
        return list(dict.fromkeys(found))

    def wayland_socket(self) -> str | None:
        name = self.env.get("WAYLAND_DISPLAY") or "wayland-0"
        if os.path.isabs(name):
            return name if os.path.exists(name) else None
        for d in self._runtime_dirs():
            path = os.path.join(d, name)
            if os.path.exists(path):
                return path
        return None

    def _connect(self) -> SwayIpc:
        with self._connect_lock:
            return self._connect_locked()

    def _connect_locked(self) -> SwayIpc:
        if self._ipc is not None:
            return self._ipc
        errors = []
        for path in self.ipc_candidates():
            try:
                ipc = SwayIpc(path)
                # Windows of ours float without borders from their first frame
                # (a tiled window would push other pictures aside until placed).
                self._rules(ipc)
            except OSError as e:
                errors.append(f"{path}: {e.strerror or e}")
                continue
            self._ipc = ipc
            self._placed.clear()
            self._ruled.clear()
            log(logger, logging.INFO, "connected to sway", socket=path)
            return ipc
        raise DisplayError("sway cannot be reached (SWAYSOCK "
                           f"{self.env.get('SWAYSOCK') or 'not set'}"
                           + (": " + "; ".join(errors) if errors else "") + ")")

    def _rules(self, ipc: SwayIpc) -> None:
        """Window rules sway applies when each picture's window maps, so it
        appears at its place from its first frame: a new window would
        otherwise land on the focused output, over other faces, until the
        next placement pass (which still checks and corrects it)."""
        # The rule's commands are quoted: unquoted, sway splits the line at the
        # commas and runs all but the first at once instead of at map time.
        # sway keeps floating windows at least 75x50 by default: a band is
        # thinner (29 rows of a 360-line picture), and must be exactly its rows.
        rules = ["floating_minimum_size 1 x 1",
                 f'for_window [app_id="^{APP_ID_PREFIX}"] "floating enable, border none"']
        rules += self._window_rules(ipc, self.layout.pictures)
        self._add_rules(ipc, rules)

    def _window_rules(self, ipc: SwayIpc, windows) -> list[str]:
        rules = []
        outputs = [o for o in ipc.request(GET_OUTPUTS) if o.get("active")]
        for picture in windows:
            target = self.sway_output_name(picture.output, outputs)
            key = (picture.name, target, picture.region)
            if target is not None and key not in self._ruled:
                # A later rule for the same window wins (sway runs them in order).
                self._ruled.add(key)
                rules.append(f'for_window [app_id="^{app_id(picture)}$"] "'
                             + ", ".join(self._commands(picture, target)) + '"')
        return rules

    def _add_rules(self, ipc: SwayIpc, rules: list[str]) -> None:
        for rule in rules:
            failed = [r.get("error") for r in ipc.command(rule) if not r.get("success")]
            if failed:
                log(logger, logging.WARNING, "sway refused a window rule", rule=rule,
                    error="; ".join(str(f) for f in failed))

    def _commands(self, picture: Picture, target: str) -> list[str]:
        r = picture.region
        return ["fullscreen disable", "floating enable", "border none", f"move to output {target}",
                f"resize set width {r.width} px height {r.height} px",
                f"move position {r.x} px {r.y} px"]

    def _drop(self) -> None:
        if self._ipc is not None:
            self._ipc.close()
            self._ipc = None

    def _request(self, kind: int, payload: str = ""):
        ipc = self._connect()
        try:
            return ipc.request(kind, payload)
        except (OSError, ValueError) as e:
            if self._ipc is ipc:
                self._drop()
            raise DisplayError(f"sway IPC failed: {e}") from e

    def check(self) -> str | None:
        try:
            self._request(GET_OUTPUTS)
        except DisplayError as e:
            return str(e)
        if self.wayland_socket() is None:
            return f"the Wayland socket {self.env.get('WAYLAND_DISPLAY') or 'wayland-0'} is missing"
        return None

    def mpv_env(self) -> dict[str, str]:
        env = dict(self.env)
        env.pop("DISPLAY", None)  # never fall back to an X server
        path = self.wayland_socket()
        if path:
            env["XDG_RUNTIME_DIR"], env["WAYLAND_DISPLAY"] = os.path.split(path)
        return env

    def mpv_args(self, picture: Picture) -> list[str]:
        r = picture.region
        args = self._vo_args("gpu")
        if args[0].startswith("--vo=gpu"):
            args.append("--gpu-context=wayland")
        return [*args, f"--wayland-app-id={app_id(picture)}", f"--title=gatecast {picture.name}",
                f"--geometry={r.width}x{r.height}"]

    # ---- placing windows ------------------------------------------------
    def sway_output_name(self, output: OutputConfig, outputs: list[dict]) -> str | None:
        if output.connector:
            return output.connector
        # No connector configured: the outputs in sway's order, like ours.
        names = sorted(o["name"] for o in outputs)
        index = list(self.layout.outputs).index(output)
        return names[index] if index < len(names) else None

    def maintain(self, running: set[str], extra: tuple[Picture, ...] = ()) -> None:
        now = time.monotonic()
        if tuple(extra) != self._extra:
            self._extra = tuple(extra)
            self._next_place = now  # a band window came or moved: rule and place it now
        if now < self._next_place or not running:
            return
        self._next_place = now + PLACE_INTERVAL_S
        try:
            if self._extra:
                ipc = self._connect()
                try:
                    self._add_rules(ipc, self._window_rules(ipc, self._extra))
                except (OSError, ValueError) as e:
                    self._drop()
                    raise DisplayError(f"sway IPC failed: {e}") from e
            tree = self._request(GET_TREE)
            self._unsettled = not self._place_all(tree, running)
            if self._unsettled:
                # A window not mapped yet (mpv just started): look again soon,
                # so a new picture is in its region within a frame or two.
                self._next_place = now + PLACE_SOON_S
        except DisplayError as e:
            log(logger, logging.WARNING, "cannot place windows", error=str(e))

    def _place_all(self, tree: dict, running: set[str]) -> bool:
        """Move windows that are not where they belong; False while a running
        picture has no window yet."""
        outputs = {o["name"]: o for o in tree.get("nodes", []) if o.get("type") == "output"
                   and o.get("name") != "__i3"}
        windows = {}  # app id -> (node, output name or "__i3")
        stacking = {}  # app id -> position in its workspace's floating stack (higher: above)
        for out in tree.get("nodes", []):
            for node in _walk(out):
                if str(node.get("app_id") or "").startswith(APP_ID_PREFIX):
                    windows[node["app_id"]] = (node, out.get("name"))
                for i, child in enumerate(node.get("floating_nodes", [])):
                    if child.get("app_id"):
                        stacking[child["app_id"]] = (node.get("id"), i)
        output_list = [{"name": n} for n in outputs]
        settled = True
        # Pictures first, then their bands: a window put back from the
        # scratchpad lands on top, so the bands end above the pictures.
        for picture in (*self.layout.pictures, *self._extra):
            found = windows.get(app_id(picture))
            if picture.name not in running:
                continue
            if found is None:
                settled = False  # not mapped yet: soon
                continue
            node, on = found
            target = self.sway_output_name(picture.output, output_list)
            criteria = f'[app_id="^{app_id(picture)}$"]'
            if target not in outputs:
                if on != "__i3":  # our output is gone: hide, do not cover another's pictures
                    self._run(f"{criteria} fullscreen disable, move scratchpad", picture, "hidden")
                continue
            want = self._wanted(picture, outputs[target]["rect"])
            if on == target and _where(node) == want:
                self._raise_band(picture, stacking)
                continue
            commands = ["scratchpad show"] if on == "__i3" else []
            commands += self._commands(picture, target)
            self._run(criteria + " " + ", ".join(commands), picture, (target, want))
        return settled

    def _wanted(self, picture: Picture, output_rect: dict) -> tuple:
        r = picture.region
        return ("floating", output_rect["x"] + r.x, output_rect["y"] + r.y, r.width, r.height)

    def _raise_band(self, window: Picture, stacking: dict) -> None:
        """A band below the picture it belongs over (the picture's window
        mapped again after it) is raised: focusing a floating window in sway
        puts it on top of its workspace."""
        if window not in self._extra:
            return
        band, under = stacking.get(app_id(window)), None
        for picture in self.layout.pictures:
            if picture.faces == window.faces:
                under = stacking.get(app_id(picture))
        if band and under and band[0] == under[0] and band[1] < under[1]:
            self._run(f'[app_id="^{app_id(window)}$"] focus', window, "raised")

    def _run(self, command: str, picture: Picture, where) -> None:
        replies = self._request(RUN_COMMAND, command)
        failed = [r.get("error") for r in replies if not r.get("success")]
        if failed:
            log(logger, logging.WARNING, "sway refused a placement", picture=picture.name,
                command=command, error="; ".join(str(f) for f in failed))
        else:
            # Every placement is logged: after the first, each means sway had
            # moved the window (a restart, an output that came back).
            log(logger, logging.INFO, "picture placed", picture=picture.name, where=str(where),
                again=self._placed.get(picture.name) == where)
        self._placed[picture.name] = where

    # ---- screenshots ----------------------------------------------------
    def capture(self, output: OutputConfig, path: str) -> None:
        try:
            outputs = self._request(GET_OUTPUTS)
        except DisplayError:
            raise
        name = self.sway_output_name(output, [o for o in outputs if o.get("active")])
        if name is None:
            raise DisplayError(f"output {output.name} is not connected")
        try:
            done = subprocess.run(["grim", "-t", "png", "-o", name, path], env=self.mpv_env(),
                                  capture_output=True, text=True, timeout=15)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise DisplayError(f"grim failed: {e}") from e
        if done.returncode != 0 or not Path(path).exists():
            raise DisplayError(f"grim -o {name} failed: {done.stderr.strip()[:200]}")

    def close(self) -> None:
        self._drop()


def _walk(node: dict):
    for child in node.get("nodes", []) + node.get("floating_nodes", []):
        yield child
        yield from _walk(child)


def _where(node: dict) -> tuple:
    rect = node.get("rect") or {}
    kind = "fullscreen" if node.get("fullscreen_mode") else "floating"
    return (kind, rect.get("x"), rect.get("y"), rect.get("width"), rect.get("height"))
