"""The admin in `gatecast demo`: gunicorn beside the player, on localhost."""

from __future__ import annotations

import socket

from kiosk.demo import DemoContext, Service
from kiosk.store import connect


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def _has_accounts(ctx: DemoContext) -> bool:
    db_path = ctx.state_dir / "gatecast.db"
    if not db_path.exists():
        return False
    db = connect(db_path)
    try:
        return "admin_user" in db.table_names() and db["admin_user"].count > 0
    finally:
        db.close()


def demo_services(ctx: DemoContext) -> list[Service]:
    port = _free_port(8080)
    url = f"http://127.0.0.1:{port}/"
    if _has_accounts(ctx):  # an earlier demo run's accounts are kept
        ctx.notes.append(f"admin at {url} — log in with the account you made in an earlier run")
    else:
        ctx.notes.append(f"admin at {url} — no account exists yet: open it to create the first "
                         f"admin, or run `{ctx.gatecast} admin --state {ctx.state_dir} create-user "
                         "--username chief` (password from stdin)")
    return [Service("admin", [ctx.gatecast, "admin", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                    ctx.base_env(), note=url)]
