"""The house's walls: tools and tests never rewrite tracked files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted((ROOT / "admin" / "translations").glob("*/LC_MESSAGES/messages.po"))


def test_catalogue_update_works_on_copies_and_never_churns(tmp_path):
    assert [p.parent.parent.name for p in CATALOGUES] == ["en", "vi"]
    tracked = {p: p.read_bytes() for p in CATALOGUES}
    target = tmp_path / "translations"
    tool = [sys.executable, str(ROOT / "scripts" / "admin_catalogues.py"), "--into", str(target)]
    subprocess.run(tool, check=True, timeout=120)
    copies = {p.relative_to(target): p.read_bytes() for p in target.glob("*/LC_MESSAGES/messages.po")}
    assert set(copies) == {p.relative_to(ROOT / "admin" / "translations") for p in CATALOGUES}
    assert all(b'msgid "Dashboard"' in text for text in copies.values())
    # A second run with nothing new rewrites nothing, not even the POT-Creation-Date.
    for path in target.glob("*/LC_MESSAGES/messages.po"):
        text = re.sub(rb'"POT-Creation-Date: [^"]*"',
                      lambda _: b'"POT-Creation-Date: 2000-01-01 00:00+0000\\n"', path.read_bytes())
        path.write_bytes(text)
    subprocess.run(tool, check=True, timeout=120)
    for path in target.glob("*/LC_MESSAGES/messages.po"):
        assert b"POT-Creation-Date: 2000-01-01 00:00+0000" in path.read_bytes()
    assert {p: p.read_bytes() for p in CATALOGUES} == tracked
