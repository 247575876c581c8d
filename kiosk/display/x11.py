"""X11 (Xvfb, a developer's desktop): each picture is a borderless mpv window
at the output's offset plus its region; outputs sit side by side in the
order configured. Screenshots grab the root window."""

from __future__ import annotations

import socket

from kiosk.display.base import Display, DisplayError
from kiosk.settings import OutputConfig, Picture


class X11Display(Display):
    name = "x11"
    captures_outputs = True
    shows_windows = True  # a band window maps after its picture's, so it is above it

    def _socket(self) -> str | None:
        display = self.env.get("DISPLAY", "")
        host, _, number = display.rpartition(":")
        if host not in ("", "unix") or not number:
            return None  # a remote display: trust it
        return f"/tmp/.X11-unix/X{number.split('.')[0]}"

    def check(self) -> str | None:
        if not self.env.get("DISPLAY"):
            return "display 'x11' is configured but DISPLAY is not set"
        path = self._socket()
        if path is None:
            return None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            s.connect(path)
        except OSError as e:
            return f"X display {self.env['DISPLAY']} cannot be reached ({e.strerror or e})"
        finally:
            s.close()
        return None

    def mpv_args(self, picture: Picture) -> list[str]:
        r, o = picture.region, picture.output
        return [*self._vo_args("gpu"), "--fullscreen=no",
                f"--geometry={r.width}x{r.height}+{o.x + r.x}+{r.y}",
                f"--x11-name=gatecast-{picture.name}", f"--title=gatecast {picture.name}"]

    def capture(self, output: OutputConfig, path: str) -> None:
        from PIL import ImageGrab

        try:
            image = ImageGrab.grab(xdisplay=self.env.get("DISPLAY"))
        except OSError as e:
            raise DisplayError(f"cannot grab the X root window: {e}") from e
        w, h = output.size
        image.crop((output.x, 0, output.x + w, h)).convert("RGB").save(path, format="PNG")

    def mpv_env(self) -> dict[str, str]:
        env = dict(self.env)
        env.pop("WAYLAND_DISPLAY", None)  # mpv would prefer Wayland
        return env


