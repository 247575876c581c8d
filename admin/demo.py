"""The admin in `gatecast demo`: gunicorn beside the player, on localhost."""

from __future__ import annotations

import socket

from kiosk.demo import DemoContext, Service


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def demo_services(ctx: DemoContext) -> list[Service]:
    port = _free_port(8080)
    url = f"http://127.0.0.1:{port}/"
    ctx.notes.append(f"admin at {url} — no account exists yet: open it to create the first "
                     f"admin, or run `{ctx.gatecast} admin --state {ctx.state_dir} create-user "
                     "--username chief` (password from stdin)")
    return [Service("admin", [ctx.gatecast, "admin", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                    ctx.base_env(), note=url)]
