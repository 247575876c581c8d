"""Central's own settings table: documented, resolved like the gate's, and
the only home of the central server's settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from central.db import database_url
from central.settings import CENTRAL_SETTINGS, load_central_settings
from kiosk.settings import SETTINGS, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_every_central_setting_is_documented():
    doc = (ROOT / "docs" / "central-settings.md").read_text()
    documented = set(re.findall(r"^### (\w+)$", doc, re.M))
    missing = {s.name for s in CENTRAL_SETTINGS} - documented
    assert not missing, ("add to docs/central-settings.md "
                         f"(python scripts/settings_doc.py --central): {missing}")
    stale = documented - {s.name for s in CENTRAL_SETTINGS}
    assert not stale, f"docs/central-settings.md documents settings that do not exist: {stale}"


def test_central_settings_have_one_home():
    names = [s.name for s in CENTRAL_SETTINGS]
    assert len(names) == len(set(names))
    # The gate's table keeps only what a gate needs to reach central.
    assert [s.name for s in SETTINGS if s.name.startswith("central_")] == ["central_url"]


def test_file_then_environment_then_state_option(tmp_path):
    cfg = tmp_path / "central.toml"
    cfg.write_text('central_workers = 4\ncentral_database_url = "postgresql://gatecast@/gc"\n')
    s = load_central_settings(config_file=cfg, env={"GATECAST_CENTRAL_WORKERS": "6"},
                              state_dir=tmp_path / "state")
    assert s["central_workers"] == 6 and s.origins["central_workers"] == "environment"
    assert database_url(s) == "postgresql://gatecast@/gc"
    assert s.state_path == tmp_path / "state"
    default = load_central_settings(config_file=None, env={}, state_dir=tmp_path / "state")
    assert database_url(default) == f"sqlite:///{(tmp_path / 'state' / 'central.db').resolve()}"


def test_bad_central_config_is_refused_clearly(tmp_path):
    cfg = tmp_path / "central.toml"
    cfg.write_text("central_wokers = 4\n")
    with pytest.raises(SettingsError, match="unknown central setting.*central_wokers"):
        load_central_settings(config_file=cfg, env={})
    cfg.write_text("faces = []\n")  # a gate's setting has no meaning here
    with pytest.raises(SettingsError, match="faces"):
        load_central_settings(config_file=cfg, env={})
    with pytest.raises(SettingsError, match="central_threads"):
        load_central_settings(config_file=None, env={"GATECAST_CENTRAL_THREADS": "many"})


def test_the_cli_refuses_a_bad_database_url(runner, tmp_path):
    from kiosk.cli import main

    cfg = tmp_path / "central.toml"
    cfg.write_text('central_database_url = "mysql://x@y/z"\n')
    result = runner.invoke(main, ["central", "user", "add", "lan", "--role", "admin",
                                  "--state", str(tmp_path / "c"), "--config", str(cfg)])
    assert result.exit_code == 1
    assert "không mở được cơ sở dữ liệu trung tâm" in result.output and "mysql" in result.output
