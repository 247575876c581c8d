"""`gatecast demo` with a local central server: the demo's sample content goes
to the gate the way it does in the field — uploaded to the central library,
approved, assigned, published as a signed release — and the gate's sync pulls
it, verifies it and activates it, then reports back.

Before the services start, the demo gate is provisioned like a real one (its
token and the pinned root), and one sync round runs against the server
in-process, so the faces start on the signed release rather than waiting for
the first poll.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.request
from datetime import datetime
from pathlib import Path

from kiosk import schedule_entry
from kiosk.demo import DemoContext, Service, make_sample_media, priority_window
from kiosk.settings import faces as configured_faces
from kiosk.settings import load_settings
from kiosk.store import open_db, writing

DEMO_USER = "demo"
DEMO_DESK = "demo-desk"  # the demo's editor: uploads and asks to publish
# The demo gate reports and polls often so that the overview moves while you watch.
GATE_SETTINGS = {
    "sync_clock": "always",  # a laptop's clock: expiry is checked, NTP or not
    "sync_interval_s": 60.0,
    "sync_heartbeat_interval_s": 10.0,
    "sync_screenshot_interval_s": 10.0,
    "sync_disk_reserve_mb": 0.0,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def publish_sample_content(central_dir: Path, gate: dict, media: dict[str, Path], tz: str,
                           now: datetime | None = None) -> tuple[dict, str]:
    """The demo schedule, made at central: library, approval, playlists,
    entries, a priority notice a minute or two ahead; requested by the demo's
desk and approved by the demo user (four eyes). Returns the
    priority window and the demo user's token (for the overview page)."""
    from central.app import repository_for
    from central.assign import add_entry, set_fallback
    from central.db import open_central_db
    from central.fleet import add_gate, get_gate, reissue_token
    from central.library import add_media, approve_media, save_playlist
    from central import publication
    from central.checks import NotFound
    from central.settings import load_central_settings
    from central.users import add_user, get_user, reissue_user_token, set_one_time_password

    settings = load_central_settings(config_file=None, state_dir=central_dir, env={})
    repo = repository_for(settings)
    if not repo.exists():
        repo.init()
    db = open_central_db(settings)
    try:
        # A fresh token each run: the old one is gone (only its hash was kept).
        if get_user(db, DEMO_USER):
            user_token = reissue_user_token(db, DEMO_USER, by="demo")
        else:
            user_token = add_user(db, DEMO_USER, "admin", by="demo")
        # The console's login for the demo: a fresh one-time password each run.
        user_token = {"token": user_token,
                      "password": set_one_time_password(db, DEMO_USER, "demo")}
        try:
            get_gate(db, gate["id"])
            gate_token = reissue_token(db, gate["id"], by="demo")
        except NotFound:
            gate_token = add_gate(db, gate["id"], gate["name"], "Demo", gate["faces"], by="demo")
        sha = {}
        for key, path in media.items():
            # Uploaded by the demo's desk, approved by the demo user (four eyes).
            row = add_media(db, central_dir, path, f"demo {path.name}", by=DEMO_DESK)
            if row["state"] != "approved":
                approve_media(db, row["sha256"], DEMO_USER)
            sha[key] = row["sha256"]
        save_playlist(db, "demo-face-1", "Demo: face 1",
                      [(sha["welcome"], 8.0), (sha["landscape"], 6.0), (sha["clip"], None)], "demo")
        save_playlist(db, "demo-face-2", "Demo: face 2",
                      [(sha["landscape"], 6.0), (sha["clip"], None), (sha["welcome"], 8.0)], "demo")
        save_playlist(db, "demo-notice", "Demo: priority notice", [(sha["notice"], 10.0)], "demo")
        add_entry(db, "gate", gate["id"], "demo-face-1", faces=[1], entry_id="demo-day-1",
                  name="Demo: all day, face 1", by="demo")
        add_entry(db, "gate", gate["id"], "demo-face-2", faces=[2], entry_id="demo-day-2",
                  name="Demo: all day, face 2", by="demo")
        start, end = priority_window(tz, now)
        add_entry(db, "gate", gate["id"], "demo-notice", faces=[1, 2], entry_id="demo-priority",
                  level="priority", name="Demo: priority notice",
                  start_time=start.strftime("%H:%M"), end_time=end.strftime("%H:%M"),
                  start_date=start.date().isoformat(), end_date=start.date().isoformat(), by="demo")
        set_fallback(db, "gate", gate["id"], "demo-face-1", face_id=1, by="demo")
        set_fallback(db, "gate", gate["id"], "demo-face-2", face_id=2, by="demo")
        # Published the way the desk does: the demo's desk asks, the demo
        # user approves (four eyes: central/publication.py).
        if not get_user(db, DEMO_DESK):
            add_user(db, DEMO_DESK, "editor", by="demo")
        try:
            rid = publication.submit(db, repo, by=DEMO_DESK, gates=[gate["id"]],
                                     note="gatecast demo")
        except publication.PublicationError as e:
            if e.code != "nothing_to_publish":  # a rerun: the gate already shows it
                raise
        else:
            publication.approve(db, repo, rid, by=DEMO_USER)
    finally:
        db.close()
    return {"gate_token": gate_token, "root": repo.trusted_root_path.read_bytes(),
            "priority_from": start.strftime("%H:%M"), "priority_to": end.strftime("%H:%M")}, \
        user_token


def _first_sync(central_dir: Path, port: int, gate_settings) -> str:
    """One sync round against the server run in-process for the moment."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # the demo prints its own summary
            pass

    from central.app import create_app
    from kiosk.sync.loop import SyncService

    from central.settings import load_central_settings

    app = create_app(load_central_settings(config_file=None, state_dir=central_dir, env={}))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    db = open_db(gate_settings.db_path)
    try:
        pulled, _ = SyncService(gate_settings, db).once()
        return pulled.outcome if pulled.ok else f"{pulled.outcome} ({pulled.code}: {pulled.reason})"
    finally:
        db.close()
        server.shutdown()
        server.server_close()
        app.extensions["release_watch"].stop()
        app.extensions["checkpointer"].stop()
        thread.join(timeout=10)
        app.extensions["central_store"].close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _drop_local_demo_schedule(gate_settings) -> None:
    """The demo's local schedule gives way to the release (a local fallback
    would otherwise win over the release's on its face).

    On a second run the release of the first is still active and its
    playlists name the same sample media: those rows are handed to the
    release (source central) rather than deleted, so nothing it uses goes.
    """
    local_demo = "source = 'local' AND id LIKE 'demo-%'"
    db = open_db(gate_settings.db_path)
    try:
        with writing(db):
            schedule_entry.delete_demo(db, "local")
            db.execute("DELETE FROM face_fallback WHERE playlist_id LIKE 'demo-%' "
                       "AND source = 'local'")
            db.execute(f"DELETE FROM playlist_item WHERE playlist_id IN "
                       f"(SELECT id FROM playlist WHERE {local_demo})")
            db.execute(f"DELETE FROM playlist WHERE {local_demo}")
            used_by = ("SELECT media_sha256 FROM playlist_item JOIN playlist "
                       "ON playlist.id = playlist_item.playlist_id WHERE playlist.source = ?")
            db.execute(f"UPDATE media SET source = 'central' WHERE source = 'local' "
                       f"AND name LIKE 'demo %' AND sha256 IN ({used_by}) "
                       f"AND sha256 NOT IN ({used_by})", ["central", "local"])
            # A technician's own playlist may use a sample too: that row stays.
            db.execute("DELETE FROM media WHERE source = 'local' AND name LIKE 'demo %' "
                       "AND sha256 NOT IN (SELECT media_sha256 FROM playlist_item)")
    finally:
        db.close()


def central_services(ctx: DemoContext) -> list[Service]:
    """Provision the demo gate at a local central server and run it and `gatecast sync`."""
    central_dir = ctx.state_dir / "central"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    gate_settings = load_settings(config_file=ctx.config_file, state_dir=ctx.state_dir)
    gate = {"id": gate_settings["gate_id"], "name": gate_settings["gate_name"],
            "faces": [f["id"] for f in configured_faces(gate_settings)]}
    media = make_sample_media(ctx.state_dir / "demo-media")  # made already: reused
    published, user_token = publish_sample_content(central_dir, gate, media,
                                                   gate_settings["timezone"])
    token_file, root_file = ctx.state_dir / "gate-token", ctx.state_dir / "root.json"
    _write_secret(token_file, published["gate_token"])
    root_file.write_bytes(published["root"])
    lines = ["", "# The demo gate's link to the local central server (gatecast demo).",
             f"central_url = {json.dumps(url)}",
             f"sync_root_file = {json.dumps(str(root_file))}",
             f"sync_token_file = {json.dumps(str(token_file))}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in GATE_SETTINGS.items()]
    text = ctx.config_file.read_text(encoding="utf-8")
    head, sep, tables = text.partition("\n[[")  # top-level keys must precede the tables
    ctx.config_file.write_text(head.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
                               + (sep + tables if sep else ""), encoding="utf-8")
    gate_settings = load_settings(config_file=ctx.config_file, state_dir=ctx.state_dir)
    _drop_local_demo_schedule(gate_settings)
    outcome = _first_sync(central_dir, port, gate_settings)

    central_config = central_dir / "central.toml"
    # Plain HTTP on localhost: the console's cookie may go without TLS here only.
    central_config.write_text("central_heartbeat_interval_s = 10.0\n"
                              "central_secure_cookie = false\n", encoding="utf-8")
    env = {k: v for k, v in ctx.base_env().items() if k not in ("GATECAST_STATE_DIR",
                                                                 "GATECAST_CONFIG")}
    ctx.notes.append(f"central console {url}/ (user {DEMO_USER}, one-time password "
                     f"{user_token['password']}; API token {user_token['token']}); "
                     f"the demo content came from it as a signed release: first sync {outcome}")
    ctx.notes.append(f"central: gatecast central gates --state {central_dir}; "
                     f"gate: gatecast sync --status --state {ctx.state_dir} "
                     f"--config {ctx.config_file}")
    return [
        Service("central", [ctx.gatecast, "central", "serve", "--state", str(central_dir),
                            "--config", str(central_config), "--bind", f"127.0.0.1:{port}",
                            "--workers", "1", "--threads", "16"], env,
                note=f"{url}/ — the console, signed repository, report API",
                ready=lambda: _answers(f"{url}/healthz")),
        Service("sync", [ctx.gatecast, "sync"], ctx.base_env(),
                note="pulls signed releases, sends heartbeats, proof of play, screenshots"),
    ]
