import re
from pathlib import Path

import pytest

from kiosk.settings import SETTINGS, Region, SettingsError, check_layout, faces, load_settings

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
    assert faces(s) == [{"id": 3, "name": "Mặt 3", "output": "main",
                         "region": {"x": 0, "y": 0, "width": 1920, "height": 1080}}]
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
    assert "configuration OK (1 face(s), 1 picture(s) on 1 output(s), display auto)" in ok.output
    assert not state.exists(), "--check must not create the state folder or database"
    cfg.write_text('faces = [{id = 9, output = "main"}]\n')
    bad = runner.invoke(main, ["settings", "--check", "--config", str(cfg), "--state", str(state)])
    assert bad.exit_code == 1 and "1..4" in bad.output


# ---- the faces/outputs layout: one validation for CLI, admin and Ansible ------

HUU_NGHI = {
    "display": "sway",
    "outputs": [{"name": "vn", "connector": "HDMI-A-1", "width": 1920, "height": 1080, "refresh": 60},
                {"name": "cn", "connector": "HDMI-A-2", "width": 1920, "height": 1080}],
    "faces": [
        {"id": 1, "name": "Hướng Việt Nam trái", "output": "vn",
         "region": {"x": 0, "y": 0, "width": 960, "height": 1080}, "relay_pin": 5},
        {"id": 2, "name": "Hướng Việt Nam phải", "output": "vn",
         "region": {"x": 960, "y": 0, "width": 960, "height": 1080}},
        {"id": 3, "name": "Hướng Trung Quốc trái", "output": "cn",
         "region": {"x": 0, "y": 0, "width": 960, "height": 1080}},
        {"id": 4, "name": "Hướng Trung Quốc phải", "output": "cn",
         "region": {"x": 960, "y": 0, "width": 960, "height": 1080}},
    ],
}


def layout_of(**changes):
    return check_layout({**HUU_NGHI, **changes})


def test_four_regions_on_two_outputs_are_four_pictures():
    layout = layout_of()
    assert [p.name for p in layout.pictures] == ["face-1", "face-2", "face-3", "face-4"]
    assert [p.faces for p in layout.pictures] == [(1,), (2,), (3,), (4,)]
    assert layout.pictures[1].region == Region(960, 0, 960, 1080)
    assert layout.pictures[2].output.connector == "HDMI-A-2"
    assert not layout.pictures[0].fills_output
    # Outputs sit side by side in order (the X11 layout).
    assert [o.x for o in layout.outputs] == [0, 1920]


def test_same_region_is_one_mirrored_picture_and_no_region_is_the_whole_output():
    layout = layout_of(outputs=[{"name": "pillar", "connector": "HDMI-A-1", "width": 1080,
                                 "height": 1920}],
                       faces=[{"id": 1, "name": "Mặt 1", "output": "pillar"},
                              {"id": 2, "name": "Mặt 2", "output": "pillar",
                               "region": {"x": 0, "y": 0, "width": 1080, "height": 1920}}])
    (picture,) = layout.pictures
    assert picture.faces == (1, 2) and picture.fills_output and picture.name == "face-1"


def test_a_rotated_output_takes_regions_in_the_rotated_picture():
    out = [{"name": "p", "connector": "HDMI-A-1", "width": 1920, "height": 1080, "rotation": 90}]
    region = {"x": 0, "y": 960, "width": 1080, "height": 960}
    layout = check_layout({"outputs": out, "faces": [{"id": 1, "name": "Dưới", "output": "p",
                                                       "region": region}]})
    assert layout.pictures[0].region == Region(0, 960, 1080, 960)
    with pytest.raises(SettingsError, match=r"does not fit inside output 'p' \(1080x1920, rotated\)"):
        check_layout({"outputs": out, "faces": [{"id": 1, "name": "x", "output": "p",
                                                  "region": {"x": 0, "y": 0, "width": 1920, "height": 1080}}]})


@pytest.mark.parametrize("changes, message", [
    ({"display": "wayland"}, "display must be one of auto, sway, x11, headless"),
    ({"outputs": []}, "1-2 outputs, the configuration has 0"),
    ({"outputs": [{"name": n, "width": 10, "height": 10} for n in "abc"]}, "1-2 outputs"),
    ({"faces": []}, "1-4 faces, the configuration has 0"),
    ({"faces": [{"id": i, "name": "x", "output": "vn"} for i in range(1, 6)]}, "1-4 faces"),
    ({"faces": [{"id": 1, "name": "x", "output": "vn",
                 "region": {"x": 1000, "y": 0, "width": 960, "height": 1080}}]},
     r"face 1: region 960x1080\+1000\+0 does not fit inside output 'vn' \(1920x1080\)"),
    ({"faces": [{"id": 1, "name": "x", "output": "vn",
                 "region": {"x": 0, "y": 0, "width": 1000, "height": 1080}},
                {"id": 2, "name": "y", "output": "vn",
                 "region": {"x": 960, "y": 0, "width": 960, "height": 1080}}]},
     "faces 1 and 2 overlap on output 'vn'"),
    ({"faces": [{"id": 1, "name": "x", "output": "vn", "region": {"x": 0, "y": 0}}]},
     "region is {x, y, width, height}"),
    ({"faces": [{"id": 1, "name": "x", "output": "vn", "regoin": {}}]}, "unknown key.*regoin"),
    ({"faces": [{"id": 1, "name": "x", "output": "vn"}, {"id": 1, "name": "y", "output": "cn"}]},
     "face ids must be unique"),
    ({"faces": [{"id": 1, "name": "x", "output": "vn", "relay_pin": 40}]}, "relay_pin"),
    ({"outputs": [{"name": "vn", "connector": "HDMI-A-1", "width": 1920, "height": 1080,
                   "rotation": 45}]}, "rotation is 0, 90, 180 or 270"),
    ({"outputs": [{"name": "vn", "width": "1920", "height": 1080}]}, "width must be a whole number"),
    ({"outputs": [{"name": "vn", "connector": "HDMI-A-1", "width": 1920, "height": 1080},
                  {"name": "cn", "connector": "HDMI-A-1", "width": 1920, "height": 1080}]},
     "same connector"),
])
def test_bad_layouts_are_clear_errors(changes, message):
    with pytest.raises(SettingsError, match=message):
        layout_of(**changes)


def test_settings_check_refuses_overlapping_regions_from_the_toml_keys(runner, tmp_path):
    from kiosk.cli import main

    cfg = tmp_path / "g.toml"
    cfg.write_text(
        'display = "sway"\n'
        '[[outputs]]\nname = "vn"\nconnector = "HDMI-A-1"\nwidth = 1920\nheight = 1080\n'
        '[[faces]]\nid = 1\nname = "Trái"\noutput = "vn"\n'
        'region = { x = 0, y = 0, width = 960, height = 1080 }\n'
        '[[faces]]\nid = 2\nname = "Phải"\noutput = "vn"\n'
        'region = { x = 960, y = 0, width = 960, height = 1080 }\n')
    args = ["settings", "--check", "--config", str(cfg), "--state", str(tmp_path / "s")]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0 and "2 picture(s) on 1 output(s), display sway" in ok.output, ok.output
    cfg.write_text(cfg.read_text().replace("x = 960", "x = 900"))
    bad = runner.invoke(main, args)
    assert bad.exit_code == 1 and "faces 1 and 2 overlap on output 'vn'" in bad.output, bad.output
