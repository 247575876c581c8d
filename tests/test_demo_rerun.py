"""`gatecast demo` run twice from the same folder (the README's first command,
tried again): the second run reuses the state of the first and works."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.store import open_db

from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

GATECAST = str(Path(sys.executable).parent / "gatecast")
# No --state: the default ./demo-state, as a newcomer runs it.
DEMO = [GATECAST, "demo", "--headless"]


def _faces_shown(db_path: Path) -> set[int]:
    db = open_db(db_path)
    try:
        return {r[0] for r in db.execute("SELECT DISTINCT face_id FROM proof_of_play")}
    finally:
        db.close()


def test_demo_twice_in_one_folder_reuses_its_state(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
    first = subprocess.run([*DEMO, "--for", "3"], capture_output=True, text=True, timeout=300,
                           env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    state = tmp_path / "demo-state"
    # Something the user made in the first run: an admin account.
    made = subprocess.run([GATECAST, "admin", "--state", str(state), "--config",
                           str(state / "gatecast.toml"), "create-user", "--username", "chief"],
                          input="a-long-demo-password\n", capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    with open_db(state / "gatecast.db") as db:
        db.execute("DELETE FROM proof_of_play")  # what the second run shows, below

    out, err = tmp_path / "second.out", tmp_path / "second.err"
    with open(out, "w") as o, open(err, "w") as e:
        second = subprocess.Popen(DEMO, stdout=o, stderr=e, text=True, env=env, cwd=tmp_path)
    try:
        with contextlib.suppress(AssertionError):  # a timeout: the assertions below say what
            wait_for(lambda: second.poll() is not None or _faces_shown(state / "gatecast.db") == {1, 2},
                     240, "both faces shown by the second run")
        assert second.poll() is None, err.read_text()[-3000:]
        assert _faces_shown(state / "gatecast.db") == {1, 2}, out.read_text()[-3000:]
    finally:
        second.send_signal(signal.SIGINT)  # Ctrl-C, as the user stops it
        status = second.wait(timeout=120)
    assert status == 0, err.read_text()[-3000:]
    assert "Traceback" not in err.read_text()
    assert "first sync activated" in out.read_text() or "first sync unchanged" in out.read_text()
    assert "log in with the account you made in an earlier run" in out.read_text()

    db = open_db(state / "gatecast.db")
    try:
        # Reused, not reset: the account is still there.
        assert db.execute("SELECT count(*) FROM admin_user WHERE username = 'chief'").fetchone()[0] == 1
        # The schedule is the release's, and every media row it plays is there, central.
        entries = {r["id"]: r["source"] for r in db.query("SELECT id, source FROM schedule_entry")}
        assert entries == {"c-demo-day-1": "central", "c-demo-day-2": "central",
                           "c-demo-priority": "central"}
        assert not list(db.query("SELECT * FROM playlist_item WHERE media_sha256 NOT IN "
                                 "(SELECT sha256 FROM media)"))
        assert {r["source"] for r in db.query("SELECT source FROM media")} == {"central"}
    finally:
        db.close()


def test_a_service_starts_only_once_the_one_before_is_ready(tmp_path):
    from kiosk.demo import Service, run_services

    up, saw = tmp_path / "central-up", tmp_path / "sync-saw"
    central = [sys.executable, "-c", f"import pathlib, time; time.sleep(1.5); "
               f"pathlib.Path({str(up)!r}).touch(); time.sleep(120)"]
    sync = [sys.executable, "-c", f"import pathlib, time; pathlib.Path({str(saw)!r})"
            f".write_text(str(pathlib.Path({str(up)!r}).exists())); time.sleep(120)"]
    lines = []
    status = run_services([Service("central", central, ready=up.exists), Service("sync", sync)],
                          duration=3.0, echo=lines.append)
    assert status == 0
    assert saw.read_text() == "True"  # sync never saw a central that was still starting
