"""A real central server for tests: its state folder, the library calls that
fill it, and the Flask app served over real HTTP on 127.0.0.1 (port 0).

The central tests (tests/central/conftest.py) run each test on both stores:
SQLite in its state folder and a fresh database of a throwaway PostgreSQL
cluster (tests/support/postgres.py). Shared with the sync and end-to-end
tests (SQLite only).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import make_server

from central.app import basic_auth_header, create_app, repository_for
from central.assign import add_entry, set_fallback
from central.db import open_central_db
from central.fleet import add_gate
from central.library import add_media, add_text, approve_media, save_playlist
from central.publish import publish
from central.settings import load_central_settings
from central.users import add_user

from tests.support.wait import wait_for


@dataclass
class Central:
    """The central server's state folder with an initialised repository."""

    state_dir: Path
    settings: object
    db: object
    repo: object
    tokens: dict = field(default_factory=dict)  # gate id -> API token
    approver: str = "approver"
    approver_token: str = ""
    operator: str = "operator"  # has the emergency right (central/users.py RIGHTS)

    def gate(self, gate_id: str = "huu-nghi", faces=(1, 2), name: str = "Hữu Nghị") -> str:
        self.tokens[gate_id] = add_gate(self.db, gate_id, name, "Lạng Sơn", faces)
        return self.tokens[gate_id]

    def media(self, path: Path, approve: bool = True) -> str:
        row = add_media(self.db, self.state_dir, path, path.name)
        if approve:
            approve_media(self.db, row["sha256"], self.approver)
        return row["sha256"]

    def text(self, spec: dict, approve: bool = True) -> str:
        row = add_text(self.db, self.state_dir, spec, "slide")
        if approve:
            approve_media(self.db, row["sha256"], self.approver)
        return row["sha256"]

    def show(self, gate_id: str, shas: list[str], playlist: str = "main", **entry) -> str:
        """A playlist of `shas` on every face of a gate, all day unless told."""
        pid = save_playlist(self.db, playlist, playlist, [(s, 3.0) for s in shas])
        add_entry(self.db, "gate", gate_id, pid, **entry)
        set_fallback(self.db, "gate", gate_id, pid)
        return pid

    def publish(self):
        return publish(self.db, self.repo)

    @property
    def viewer_auth(self) -> dict:
        return {"Authorization": basic_auth_header(self.approver, self.approver_token)}


def central_config(path: Path, **settings) -> Path:
    """Central's config file with these settings (empty ones left out)."""
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items() if v != ""))
    return path


def make_central(state_dir: Path, **settings) -> Central:
    # Plain HTTP on 127.0.0.1 in tests: the console's cookie may travel without TLS.
    settings.setdefault("central_secure_cookie", False)
    cfg = central_config(state_dir.parent / f"{state_dir.name}.toml", **settings)
    s = load_central_settings(config_file=cfg, state_dir=state_dir, env={})
    repo = repository_for(s)
    repo.init()
    db = open_central_db(s)
    c = Central(state_dir, s, db, repo)
    c.approver_token = add_user(db, c.approver, "approver")
    add_user(db, c.operator, "operator")
    return c


def bench_fleet(tmp: Path, gates: int, url: str) -> tuple[Central, list[str]]:
    """The publishing benches' province: `gates` gates in one group "all" whose
    entry plays a 10-image playlist "p" (approved, not yet published)."""
    from central.fleet import add_group
    from tests.support.media import make_image

    c = make_central(tmp / "central", central_database_url=url)
    ids = [f"gate-{i:04d}" for i in range(gates)]
    for gate_id in ids:
        c.gate(gate_id)
    add_group(c.db, "all", "All", ids)
    shas = [c.media(make_image(tmp / f"m{i}.png", color=(i * 20 % 255, 40, 90)))
            for i in range(10)]
    add_entry(c.db, "group", "all", save_playlist(c.db, "p", "P", [(s, 5.0) for s in shas]))
    return c, ids


def fleet_bench(doc: str, body) -> None:
    """A publishing bench's command line around `body(args, central, gate_ids, tmp)`:
    --gates and --store, then bench_fleet's province in a temporary folder on that store."""
    import argparse
    import tempfile

    from tests.support.postgres import bench_database_url

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--gates", type=int, default=1000)
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                    help="postgresql: a throwaway cluster (default durability) for this run")
    args = ap.parse_args()
    with bench_database_url(args.store) as url, tempfile.TemporaryDirectory() as tmp:
        c, ids = bench_fleet(Path(tmp), args.gates, url)
        body(args, c, ids, Path(tmp))


def timed(fn):
    """(fn's result, its wall time in seconds)."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


class LiveServer:
    """The central Flask app on a real threaded HTTP server on 127.0.0.1."""

    def __init__(self, settings):
        self.app = create_app(settings)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.app.extensions["release_watch"].stop()
        if self.app.extensions["checkpointer"] is not None:
            self.app.extensions["checkpointer"].stop()
        self.thread.join(timeout=10)
        self.app.extensions["central_store"].close()


@contextmanager
def served_central(state_dir: Path, log_path: Path, workers: int = 2, threads: int = 16,
                   config: Path | None = None):
    """`gatecast central serve` (gunicorn) on a free loopback port; yields its URL.
    The process group is stopped on exit."""
    with _served(["serve", "--state", str(state_dir), "--bind", "127.0.0.1:0",
                  "--workers", str(workers), "--threads", str(threads)], log_path,
                 config) as url:
        yield url


@contextmanager
def served_reports(state_dir: Path, log_path: Path, threads: int = 16,
                   config: Path | None = None):
    """`gatecast central serve-reports` (uvicorn: the gate report URLs only) on a
    free loopback port; yields its URL. Start `served_central` first (it migrates)."""
    with _served(["serve-reports", "--state", str(state_dir), "--bind", "127.0.0.1:0",
                  "--threads", str(threads)], log_path, config) as url:
        yield url


@contextmanager
def _served(args: list[str], log_path: Path, config: Path | None):
    cmd = [str(Path(sys.executable).parent / "gatecast"), "central", *args]
    if config is not None:
        cmd += ["--config", str(config)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ})
        def listening() -> int | None:
            if proc.poll() is not None:
                raise RuntimeError(f"central {args[0]} did not start:\n" + log_path.read_text())
            m = re.search(rb"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_bytes())
            return m and int(m.group(1))

        try:
            port = wait_for(listening, 60, f"central {args[0]} to listen")
            yield f"http://127.0.0.1:{port}"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
