"""Vietnamese first, English one click away, for both web apps.

Catalogues are kept as .po files (reviewable text): the shared one here in
kiosk/web/translations (strings of kiosk.web) and one per app. At start they
are compiled to .mo in the app's state folder whenever a .po is newer, so an
installed package needs no build step and no write access to its own folder;
Flask-Babel merges the folders, the app's own first.

Outside a request (alert messages, report files, the command line) the same
catalogues are read with Babel by `gettext_in(folders, lang)`, the same
merge and the same placeholders as Flask-Babel's gettext. `N_` marks a
string for the catalogue where it is defined and said later.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import Callable, Iterable

LANGUAGES = ("vi", "en")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}
SHARED = Path(__file__).parent / "translations"


def compiled_catalogues(sources: Iterable[tuple[str, Path]], cache: Path) -> str:
    """Compile each (name, translations folder) into cache/translations/name;
    returns the folders for BABEL_TRANSLATION_DIRECTORIES (';'-separated)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    targets = []
    for name, source in sources:
        target = cache / "translations" / name
        for lang in LANGUAGES:
            po = source / lang / "LC_MESSAGES" / "messages.po"
            mo = target / lang / "LC_MESSAGES" / "messages.mo"
            if not po.exists():
                continue
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            mo.parent.mkdir(parents=True, exist_ok=True)
            with open(po, "rb") as f:
                catalog = read_po(f, locale=lang)
            tmp = mo.with_name(f".messages.mo.{os.getpid()}")
            with open(tmp, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo)  # atomic: concurrent workers never read half a file
        targets.append(str(target))
    return ";".join(targets)


def N_(msgid: str) -> str:
    """Marks a string for the catalogue (scripts/admin_catalogues.py); it is
    translated where it is said."""
    return msgid


@functools.lru_cache(maxsize=16)
def _translations(folders: tuple[Path, ...], lang: str):
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    merged = None
    for folder in folders:
        po = folder / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with open(po, "rb") as f:
            catalog = read_po(f, locale=lang)
        mo = io.BytesIO()
        write_mo(mo, catalog)  # in memory: no write access to the package is needed
        mo.seek(0)
        found = Translations(mo)
        if merged is None:
            merged = found
        else:
            merged.add_fallback(found)  # the first folder's translation wins
    return merged or NullTranslations()


def gettext_in(folders: Iterable[Path], lang: str) -> Callable[..., str]:
    """gettext(msgid, **params) in `lang` from these translations folders (the
    first wins), outside any request: what Flask-Babel's gettext says on a page."""
    translations = _translations(tuple(folders), lang)

    def gettext(msgid: str, **params) -> str:
        text = translations.ugettext(msgid)
        return text % params if params else text

    return gettext


def gate_language(settings) -> str:
    """The gate's language for its command line: the `language` setting,
    Vietnamese unless it is one of ours."""
    return settings["language"] if settings["language"] in LANGUAGES else "vi"


def gate_gettext(settings, *folders: Path) -> Callable[..., str]:
    """gettext(msgid, **params) in the gate's language from these areas'
    translations folders over the shared one (the gate's command line)."""
    return gettext_in((*folders, SHARED), gate_language(settings))


class Refusal(ValueError):
    """Bad input refused with a catalogue sentence: str() is the English one
    (logs, provisioning, callers that read text), `say(gettext)` says it in
    the reader's language."""

    def __init__(self, msgid: str, **params):
        super().__init__(msgid % params if params else msgid)
        self.msgid, self.params = msgid, params

    def say(self, gettext) -> str:
        return gettext(self.msgid, **self.params)


def say(said, gettext) -> str:
    """A Refusal (or anything with `say`) in the reader's language; other text
    (another library's) as it is."""
    return said.say(gettext) if hasattr(said, "say") else str(said)


def request_translations():
    """The request's catalogue, looked up once per request: Flask-Babel's own
    lookup costs ~0.1 ms per string and a page has dozens of them."""
    from flask import g
    from flask_babel import get_translations

    t = g.get("_translations")
    if t is None:
        t = g._translations = get_translations()
    return t


def install_gettext(app) -> None:
    """Jinja's _() / gettext() / ngettext() through the request's catalogue
    (newstyle: Jinja fills the %(name)s placeholders)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
    )


def pick_language(session_lang: str | None, user_lang: str | None, default: str) -> str:
    """The page's language: the one chosen in this session, else the account's,
    else the app's default."""
    for lang in (session_lang, user_lang, default):
        if lang in LANGUAGES:
            return lang
    return "vi"
