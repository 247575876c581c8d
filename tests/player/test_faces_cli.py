"""`gatecast faces list|identify` in the gate's language: Vietnamese unless
language = "en" (kiosk/player/translations, scripts/admin_catalogues.py --area player)."""

import subprocess
import sys
from pathlib import Path

from kiosk.cli import main
from kiosk.store import get_state, open_db

FACES = 'faces = [{id = 1, name = "Bắc", output = "main"}, {id = 2, name = "Nam", output = "main"}]\n'


def test_faces_list_and_identify_in_both_languages(runner, state_dir, tmp_path):
    cfg = tmp_path / "gatecast.toml"
    cfg.write_text(FACES)
    base = ["--state", str(state_dir), "--config", str(cfg)]
    r = runner.invoke(main, ["faces", "list", *base])
    assert r.exit_code == 0, r.output
    assert "đầu ra main (HDMI-A-1): 1920x1080" in r.output
    assert "hình face-1 trên main, toàn bộ đầu ra: mặt 1 Bắc, 2 Nam (nhân bản)" in r.output
    r = runner.invoke(main, ["faces", "identify", "--for", "5s", *base])
    assert r.exit_code == 0 and "mọi mặt hiện số và tên của mình đến " in r.output, r.output
    db = open_db(state_dir / "gatecast.db")
    asked = get_state(db, "identify")
    # Refusals in words, and nothing asked of the player.
    r = runner.invoke(main, ["faces", "identify", "--for", "2h", *base])
    assert r.exit_code == 1 and "nhận diện mặt kéo dài 1-600 giây, nhận được 7200" in r.output
    r = runner.invoke(main, ["faces", "identify", "--for", "soon", *base])
    assert r.exit_code == 1 and "không phải thời lượng dạng 2h, 90m hay 1h30m: 'soon'" in r.output
    assert get_state(db, "identify") == asked
    db.close()

    cfg.write_text(FACES + 'language = "en"\n')
    r = runner.invoke(main, ["faces", "list", *base])
    assert "output main (HDMI-A-1): 1920x1080" in r.output
    assert "picture face-1 on main, whole output: face 1 Bắc, 2 Nam (mirrored)" in r.output
    r = runner.invoke(main, ["faces", "identify", "--for", "5s", *base])
    assert "every face shows its number and name until " in r.output
    r = runner.invoke(main, ["faces", "identify", "--for", "2h", *base])
    assert r.exit_code == 1 and "identify lasts 1-600 seconds, got 7200" in r.output


def test_every_faces_string_is_translated():
    tool = Path(__file__).resolve().parents[2] / "scripts" / "admin_catalogues.py"
    r = subprocess.run([sys.executable, str(tool), "--check", "--area", "player"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
