"""A gate under test: a state folder, its database, the pinned root, and helpers to
pull from a central (double or real) and look at what the screens would play."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from pathlib import Path

from kiosk.settings import load_settings
from kiosk.store import get_state, open_db
from kiosk.sync.loop import SyncService
from kiosk.sync.pull import PullConfig, pull
from kiosk.sync.status import record_pull

GATE_ID = "lang-son-huu-nghi"
TOKEN = "test-token-" + "x" * 20


class Gate:
    def __init__(self, tmp: Path, central_url: str, root_bytes: bytes, gate_id: str = GATE_ID,
                 **overrides):
        self.dir = Path(tmp)
        self.state_dir = self.dir / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.root_file = self.dir / "root.json"
        self.root_file.write_bytes(root_bytes)
        self.token_file = self.dir / "gate-token"
        self.token_file.write_text(TOKEN + "\n")
        self.token_file.chmod(0o600)
        values = {
            "central_url": central_url,
            "gate_id": gate_id,
            "sync_root_file": str(self.root_file),
            "sync_token_file": str(self.token_file),
            "sync_clock": "always",
            "sync_http_timeout_s": 5.0,
            "sync_disk_reserve_mb": 0.0,
            **overrides,
        }
        self.config_file = self.dir / "gatecast.toml"
        self.config_file.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
        self.settings = load_settings(config_file=self.config_file, state_dir=self.state_dir, env={})
        self.db = open_db(self.settings.db_path)

    def config(self, **changes) -> PullConfig:
        cfg = PullConfig.from_settings(self.settings)
        for k, v in changes.items():
            setattr(cfg, k, v)
        return cfg

    def pull(self, fetcher=None, **changes):
        result = pull(self.db, self.config(**changes), fetcher)
        record_pull(self.db, result)
        return result

    def release(self):
        return get_state(self.db, "release")

    def sync_state(self):
        return get_state(self.db, "sync") or {}

    def central_rows(self, table: str) -> list[dict]:
        return list(self.db.query(f"SELECT * FROM [{table}] WHERE source = 'central'"))

    def events(self, code_prefix: str = "") -> list[dict]:
        return [e for e in self.db.query("SELECT * FROM event ORDER BY id")
                if e["code"].startswith(code_prefix)]

    def media_files(self) -> list[str]:
        from kiosk.mediastore import MediaStore

        return MediaStore(self.settings.media_dir).all()

    def close(self):
        self.db.close()


@contextmanager
def running_sync(settings, join_timeout: float = 20.0):
    """`gatecast sync`'s service in a thread with its own database connection (like
    the real process); stopped, joined and unlocked afterwards."""
    db = open_db(settings.db_path)
    svc = SyncService(settings, db)
    svc.lock()
    thread = threading.Thread(target=svc.run, name="sync", daemon=True)
    thread.start()
    try:
        yield svc
    finally:
        svc.stop.set()
        thread.join(join_timeout)
        svc.unlock()
        db.close()
    assert not thread.is_alive(), "sync did not stop"


def gate_of(central, central_url: str, folder: Path, gate_id: str, **overrides):
    """Settings of a gate under `folder` registered at `central` (a tests.support
    central) and trusting its root, syncing as soon as asked: what the latency
    benches run beside a player."""
    from tests.support.player import gate_settings

    token = central.gate(gate_id, faces=(1,))
    (folder / "root.json").write_bytes(central.repo.trusted_root_path.read_bytes())
    (folder / "gate-token").write_text(token)
    (folder / "gate").mkdir()
    return gate_settings(
        folder / "gate", gate_id=gate_id, central_url=central_url,
        sync_root_file=str(folder / "root.json"), sync_token_file=str(folder / "gate-token"),
        sync_clock="always", sync_disk_reserve_mb=0, sync_screenshot_interval_s=0,
        poll_interval_s=0.2, **overrides)
