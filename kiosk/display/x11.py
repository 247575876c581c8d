"""X11 (Xvfb, a developer's desktop): each picture is a borderless mpv window
at the output's offset plus its region; outputs sit side by side in the
order configured. Screenshots grab the root window."""

from __future__ import annotations

import re
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
        return [*self._vo_args("gpu"), "--fullscreen=no", f"--geometry={window_geometry(picture)}",
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




_GEOMETRY = re.compile(r"^--geometry=(\d+)x(\d+)\+(-?\d+)\+(-?\d+)$")


def window_geometry(picture: Picture) -> str:
    """WxH+X+Y of a picture's (or a band's) window: the output's offset plus the
    region. An output whose own mpv_args put its window elsewhere at another size
    (`gatecast demo` shrinks both outputs into two windows on a desktop) moves
    and scales the region with it, so a band lands on its picture's window."""
    r, o = picture.region, picture.output
    found = [m for m in map(_GEOMETRY.match, o.mpv_args) if m]
    if not found:
        return f"{r.width}x{r.height}+{o.x + r.x}+{r.y}"
    w, h, x, y = (int(v) for v in found[-1].groups())
    ow, oh = o.size
    sx, sy = w / ow, h / oh
    return f"{round(r.width * sx)}x{round(r.height * sy)}+{x + round(r.x * sx)}+{y + round(r.y * sy)}"
