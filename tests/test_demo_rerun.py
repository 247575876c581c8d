"""`gatecast demo` run twice from the same folder (the README's first command,
tried again): the second run reuses the state of the first and works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.store import open_db

pytestmark = pytest.mark.slow

GATECAST = str(Path(sys.executable).parent / "gatecast")


def _demo(folder: Path, env: dict, seconds: int) -> subprocess.CompletedProcess:
    # No --state: the default ./demo-state, as a newcomer runs it.
    return subprocess.run([GATECAST, "demo", "--for", str(seconds), "--headless"], capture_output=True,
                          text=True, timeout=300, env=env, cwd=folder)


def test_demo_twice_in_one_folder_reuses_its_state(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
    first = _demo(tmp_path, env, 4)
    assert first.returncode == 0, first.stderr[-3000:]
    state = tmp_path / "demo-state"
    # Something the user made in the first run: an admin account.
    made = subprocess.run([GATECAST, "admin", "--state", str(state), "--config",
                           str(state / "gatecast.toml"), "create-user", "--username", "chief"],
                          input="a-long-demo-password\n", capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]

    second = _demo(tmp_path, env, 14)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Traceback" not in second.stderr
    assert "first sync activated" in second.stdout or "first sync unchanged" in second.stdout, \
        second.stdout[-2000:]

    db = open_db(state / "gatecast.db")
    try:
        # Reused, not reset: the account is still there.
        assert db.execute("SELECT count(*) FROM admin_user WHERE username = 'chief'").fetchone()[0] == 1
        # The schedule is the release's, and every media row it plays is there once.
        entries = {r["id"]: r["source"] for r in db.query("SELECT id, source FROM schedule_entry")}
        assert entries == {"c-demo-day-1": "central", "c-demo-day-2": "central",
                           "c-demo-priority": "central"}
        assert not list(db.query("SELECT * FROM playlist_item WHERE media_sha256 NOT IN "
                                 "(SELECT sha256 FROM media)"))
        sources = {r["source"] for r in db.query("SELECT source FROM media")}
        assert sources == {"central"}
        # The second run showed something on both faces.
        faces = {r["face_id"] for r in db.query("SELECT DISTINCT face_id FROM proof_of_play")}
        assert faces == {1, 2}
    finally:
        db.close()
