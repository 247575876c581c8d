import re
from pathlib import Path

import pytest

from kiosk.settings import SETTINGS, SettingsError, faces, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "settings.md").read_text()
    documented = set(re.findall(r"^### (\w+)$", doc, re.M))
    missing = {s.name for s in SETTINGS} - documented
    assert not missing, f"add to docs/settings.md (python scripts/settings_doc.py): {missing}"


def test_setting_names_are_unique():
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))


def test_defaults_have_their_declared_type():
    s = load_settings(config_file=None, env={}, state_dir=Path("/tmp/x"))
    for setting in SETTINGS:
        value = s[setting.name]
        expected = {"str": str, "int": int, "float": float, "bool": bool, "json": (list, dict)}[setting.type]
        assert isinstance(value, expected), setting.name


def test_precedence_file_then_env(tmp_path):
    cfg = tmp_path / "g.toml"
    cfg.write_text('gate_name = "Cửa khẩu Hữu Nghị"\ntimezone = "UTC"\n')
    s = load_settings(config_file=cfg, env={"GATECAST_TIMEZONE": "Asia/Bangkok"}, state_dir=tmp_path)
    assert s.gate_name == "Cửa khẩu Hữu Nghị" and s.origins["gate_name"] == "file"
    assert s.timezone == "Asia/Bangkok" and s.origins["timezone"] == "environment"
    assert s.state_dir == str(tmp_path) and s.origins["state_dir"] == "option"


def test_env_json_and_bad_values(tmp_path):
    s = load_settings(config_file=None, env={"GATECAST_FACES": '[{"id": 3, "output": "main"}]'},
                      state_dir=tmp_path)
    assert faces(s) == [{"id": 3, "output": "main"}]
    with pytest.raises(SettingsError, match="screenshot_interval_s"):
        load_settings(env={"GATECAST_SCREENSHOT_INTERVAL_S": "often"}, state_dir=tmp_path)


def test_unknown_key_and_broken_file_are_clear_errors(tmp_path):
    cfg = tmp_path / "g.toml"
    cfg.write_text("no_such_setting = 1\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(config_file=cfg, env={})
    cfg.write_text("gate_name = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config_file=cfg, env={})
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(config_file=tmp_path / "missing.toml", env={})


def test_face_validation(tmp_path):
    s = load_settings(env={"GATECAST_FACES": '[{"id": 7, "output": "main"}]'}, state_dir=tmp_path)
    with pytest.raises(SettingsError, match="1..4"):
        faces(s)
    s = load_settings(env={"GATECAST_FACES": '[{"id": 1, "output": "hdmi9"}]'}, state_dir=tmp_path)
    with pytest.raises(SettingsError, match="unknown output"):
        faces(s)


def test_settings_check_validates_without_a_database(runner, tmp_path):
    from kiosk.cli import main

    cfg = tmp_path / "g.toml"
    cfg.write_text('faces = [{id = 1, name = "Mặt 1", output = "main"}]\n')
    state = tmp_path / "state"
    ok = runner.invoke(main, ["settings", "--check", "--config", str(cfg), "--state", str(state)])
    assert ok.exit_code == 0, ok.output
    assert "configuration OK (1 face(s))" in ok.output
    assert not state.exists(), "--check must not create the state folder or database"
    cfg.write_text('faces = [{id = 9, output = "main"}]\n')
    bad = runner.invoke(main, ["settings", "--check", "--config", str(cfg), "--state", str(state)])
    assert bad.exit_code == 1 and "1..4" in bad.output
