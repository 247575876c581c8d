"""What central says outside a web request (alert messages, report files, the
command line): central's catalogue (central/translations) over the shared one
(kiosk/web/translations), read with Babel as the console reads them
(kiosk.web.i18n.gettext_in), in the province's language (Vietnamese) unless
told. Console pages say things through Flask-Babel (central/console/i18n.py).

    from kiosk.web.i18n import N_
    TITLE = N_("Plays and airtime")      # in the catalogue, said later
    say(TITLE)                           # Lượt phát và thời lượng phát
    say("Face: %(face)s", "en", face=2)  # Face: 2
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from kiosk.web.i18n import N_, SHARED, gettext_in

CATALOGUE = Path(__file__).resolve().parent / "translations"
LANGUAGE = "vi"


def gettext(lang: str = LANGUAGE) -> Callable[..., str]:
    """gettext(msgid, **params) in `lang` (for kiosk.web.formatting.duration and the like)."""
    return gettext_in((CATALOGUE, SHARED), lang)


def say(msgid: str, lang: str = LANGUAGE, **params) -> str:
    return gettext(lang)(msgid, **params)


@contextmanager
def speaking(lang: str = LANGUAGE) -> Iterator[None]:
    """Flask-Babel's gettext in `lang` outside any request (the command line):
    what the library raises with `_()` (a refusal translated where it is
    made) comes out as a console page would say it, not as its English
    msgid. An app context of an app whose only job is Babel, its catalogues
    compiled as the console's are, into a folder of its own."""
    import tempfile

    from flask import Flask
    from flask_babel import Babel

    from kiosk.web.i18n import LANGUAGES, compiled_catalogues

    lang = lang if lang in LANGUAGES else LANGUAGE
    with tempfile.TemporaryDirectory(prefix="gatecast-words-") as folder:
        app = Flask("gatecast-central-cli")
        Babel(app, default_locale=lang, locale_selector=lambda: lang,
              default_translation_directories=compiled_catalogues(
                  [("central", CATALOGUE), ("web", SHARED)], Path(folder)))
        with app.app_context():
            yield


# A content language's name: kiosk.text.fonts.LANGUAGES' English msgids, listed here so
# central's catalogue holds them; every console page names a language through language_name.
LANGUAGE_NAMES = {"vi": N_("Vietnamese"), "zh": N_("Chinese"), "lo": N_("Lao"),
                  "km": N_("Khmer"), "en": N_("English")}


def language_name(code: str) -> str:
    """A content language (a slide's, a notice's) named in the reader's
    language: Flask-Babel's in a console request, the English msgid outside.
    Here, below every central module, so the library and the console's
    wording can both use it without importing each other."""
    from flask_babel import gettext as _

    return _(LANGUAGE_NAMES[code]) if code in LANGUAGE_NAMES else code
