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

from pathlib import Path
from typing import Callable

from kiosk.web.i18n import N_, SHARED, gettext_in

CATALOGUE = Path(__file__).resolve().parent / "translations"
LANGUAGE = "vi"


def gettext(lang: str = LANGUAGE) -> Callable[..., str]:
    """gettext(msgid, **params) in `lang` (for kiosk.web.formatting.duration and the like)."""
    return gettext_in((CATALOGUE, SHARED), lang)


def say(msgid: str, lang: str = LANGUAGE, **params) -> str:
    return gettext(lang)(msgid, **params)


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
