"""Keep the web apps' vi and en catalogues complete: the gate admin's, the
central console's and the strings they share (kiosk/web).

    .venv/bin/python scripts/admin_catalogues.py           # extract strings, update both .po files
    .venv/bin/python scripts/admin_catalogues.py --check   # exit 1 if a string lacks a translation
    .venv/bin/python scripts/admin_catalogues.py --into DIR   # update copies in DIR/<lang>/...
    ... --area central                                      # the same for central (or web); default admin

A catalogue whose messages did not change is not rewritten (its
POT-Creation-Date would otherwise change on every run); tests work on copies
(--into) so that running them never changes a tracked file.

English msgids are the source; the en catalogue repeats them (so English is a
real, complete catalogue), the vi catalogue is translated by hand in
admin/translations/vi/LC_MESSAGES/messages.po. A test runs --check.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
# area: (the folder whose strings it holds, relative to ROOT; its translations folder)
AREAS = {
    "admin": ("admin", "admin/translations"),
    "central": ("central", "central/translations"),
    "web": ("kiosk/web", "kiosk/web/translations"),
    # The gate's power command line (kiosk/power/cli.py: `gatecast power status`).
    "power": ("kiosk/power", "kiosk/power/translations"),
    # `gatecast notice` and its refusals (kiosk/text/cli.py, kiosk/text/notices.py).
    "text": ("kiosk/text", "kiosk/text/translations"),
    # `gatecast faces list|identify` (kiosk/player/cli.py, kiosk/player/identify.py).
    "player": ("kiosk/player", "kiosk/player/translations"),
    # `gatecast sync`'s refusals (kiosk/sync/cli.py); the sync state itself is said
    # in the admin's words (gatecast.words).
    "sync": ("kiosk/sync", "kiosk/sync/translations", [("*.py", "python")]),
    # What every gate command shares (kiosk/cliutil.py, kiosk/cli.py): the
    # modules at kiosk/'s top only, as each area under it has its own.
    "core": ("kiosk", "kiosk/translations", [("*.py", "python")]),
}
AREA = "admin"


def extracted() -> Catalog:
    folder = AREAS[AREA][0]
    catalog = Catalog(project=f"gatecast {AREA}")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT / folder), AREAS[AREA][2] if len(AREAS[AREA]) > 2 else METHODS, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "translate": None, "say": None,
                                                   "lazy_gettext": None}):
        catalog.add(message, None, [(f"{folder}/{filename}", lineno)], auto_comments=comments,
                    context=context)
    return catalog


def _placeholders(text) -> set[str]:
    import re

    return set(re.findall(r"%\([a-z_]+\)[sd]", text if isinstance(text, str) else text[0]))


def tracked() -> Path:
    return ROOT / AREAS[AREA][1]


def po_path(lang: str, translations: Path | None = None) -> Path:
    return (translations or tracked()) / lang / "LC_MESSAGES" / "messages.po"


def load(lang: str, translations: Path | None = None) -> Catalog:
    path = po_path(lang, translations)
    if not path.exists():
        return Catalog(locale=lang, project=f"gatecast {AREA}")
    with open(path, "rb") as f:
        return read_po(f, locale=lang)


def missing(lang: str) -> list[str]:
    have = load(lang)
    out = []
    for m in extracted():
        if not m.id:
            continue
        t = have.get(m.id)
        if t is None or not t.string or t.fuzzy:
            out.append(m.id if isinstance(m.id, str) else m.id[0])
        elif _placeholders(t.id) != _placeholders(t.string):
            out.append(f"{m.id} (placeholders differ)")
    return out


def _without_creation_date(po: bytes) -> bytes:
    return b"\n".join(line for line in po.split(b"\n") if not line.startswith(b'"POT-Creation-Date:'))


def update(translations: Path | None = None) -> list[Path]:
    """Bring both catalogues in `translations` up to date; returns the files written."""
    template = extracted()
    written = []
    for lang in ("vi", "en"):
        catalog = load(lang, translations)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if lang == "en":
            for m in catalog:
                if m.id and not m.string:
                    m.string = m.id
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, sort_output=True, omit_header=False)
        path = po_path(lang, translations)
        old = path.read_bytes() if path.exists() else b""
        if _without_creation_date(old) == _without_creation_date(buffer.getvalue()):
            continue  # nothing but the date would change
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    global AREA
    if "--area" in argv:
        AREA = argv[argv.index("--area") + 1]
        if AREA not in AREAS:
            print(f"--area is one of {', '.join(AREAS)}", file=sys.stderr)
            return 2
    if "--check" in argv:
        problems = {lang: missing(lang) for lang in ("vi", "en")}
        for lang, ids in problems.items():
            for i in ids:
                print(f"{AREA} {lang}: untranslated: {i!r}")
        return 1 if any(problems.values()) else 0
    if "--into" in argv:
        target = Path(argv[argv.index("--into") + 1])
        for lang in ("vi", "en"):  # start from the tracked catalogues, never write them
            if not po_path(lang, target).exists() and po_path(lang).exists():
                po_path(lang, target).parent.mkdir(parents=True, exist_ok=True)
                po_path(lang, target).write_bytes(po_path(lang).read_bytes())
        update(target)
        return 0
    update()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
