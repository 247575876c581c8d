"""The console's catalogues (central/translations, and the kiosk/web ones it
shares with the gate admin) have every string in Vietnamese and English:
scripts/admin_catalogues.py --check, the same tool as the admin's."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "scripts" / "admin_catalogues.py"


@pytest.mark.parametrize("area", ["central", "web"])
def test_every_console_string_is_translated(area):
    r = subprocess.run([sys.executable, str(TOOL), "--check", "--area", area],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_check_fails_on_an_untranslated_string(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("catalogues", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    copy = tmp_path / "translations"
    shutil.copytree(ROOT / "central" / "translations", copy)
    po = copy / "vi" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    assert 'msgstr "Người dùng"' in text
    po.write_text(text.replace('msgstr "Người dùng"', 'msgstr ""'), encoding="utf-8")
    monkeypatch.setattr(tool, "AREA", "central")
    monkeypatch.setattr(tool, "AREAS", {"central": ("central", str(copy))})
    assert "Users" in tool.missing("vi") and tool.missing("en") == []
