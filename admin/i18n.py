"""Vietnamese first, English one click away.

The catalogues are kept as .po files in admin/translations (reviewable text);
they are compiled to .mo at start into the state folder whenever a .po is
newer, so an installed package needs no build step and no write access to
its own folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app, session
from flask_babel import get_locale
from flask_login import current_user

from admin.db import get_settings

LANGUAGES = ("vi", "en")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}
SOURCE = Path(__file__).parent / "translations"


def compiled_catalogues(state: Path) -> Path:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    target = state / "cache" / "translations"
    for lang in LANGUAGES:
        po = SOURCE / lang / "LC_MESSAGES" / "messages.po"
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
    return target


def select_locale() -> str:
    lang = session.get("lang")
    if lang in LANGUAGES:
        return lang
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _request_translations():
    """The request's catalogue, looked up once per request: Flask-Babel's own
    lookup costs ~0.1 ms per string and a page has dozens of them."""
    from flask import g
    from flask_babel import get_translations

    t = g.get("_translations")
    if t is None:
        t = g._translations = get_translations()
    return t


def local_time(value, fmt: str = "short") -> str:
    """ISO text or datetime -> the gate's local time, one format everywhere
    (admin/formatting.py); fmt "medium"/"long" add the seconds (logs)."""
    from admin import formatting

    if not value:
        return "—"
    if not isinstance(value, str):
        value = value.isoformat()
    return formatting.local_time(value, get_settings()["timezone"], fmt in ("medium", "long", "seconds"))


def init_app(app) -> None:
    from flask_babel import gettext

    from admin import formatting

    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = lambda v: formatting.local_date(v) if v else "…"
    app.jinja_env.filters["size"] = lambda n: formatting.size(n, str(get_locale()))
    app.jinja_env.filters["megabytes"] = lambda n: formatting.megabytes(n, str(get_locale()))
    app.jinja_env.filters["duration"] = lambda s: formatting.duration(s, gettext)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _request_translations().ugettext(s),
        ngettext=lambda s, p, n: _request_translations().ungettext(s, p, n),
        newstyle=True,
    )

    @app.context_processor
    def _languages():
        from flask_babel import gettext as _

        return {
            "languages": LANGUAGE_NAMES,
            "current_language": str(get_locale()),
            "url_map_endpoints": current_app.view_functions,
            "role_names": role_names(),
            "level_names": level_names(),
            "media_kinds": {"image": _("image"), "video": _("video"), "text": _("text slide")},
            "notice_kinds": {"ticker": _("ticker (scrolling band)"), "slide": _("slide (full screen)")},
            "say": say(),
            "event_levels": {"error": _("error"), "warning": _("warning"), "info": _("information")},
            "event_sources": {"player": _("player"), "power": _("power"), "sync": _("sync"),
                              "text": _("notices"), "admin": _("admin")},
        }


def say():
    """Events, alarms and outcomes in the reader's language (admin/events.py),
    built once per request."""
    from flask import g
    from flask_babel import gettext

    from admin import events, formatting

    if "_say" not in g:
        locale = str(get_locale())
        g._say = events.Renderer(gettext, local_time, lambda n: formatting.size(n, locale))
    return g._say


def role_names() -> dict:
    """The roles in the reader's language (pages, and the role check's refusal)."""
    from flask_babel import gettext as _

    return {"viewer": _("viewer"), "operator": _("operator"), "admin": _("admin")}


def level_names() -> dict:
    from flask_babel import gettext as _

    return {"emergency": _("emergency"), "priority": _("priority"), "normal": _("normal"),
            "fallback": _("fallback"), "none": _("nothing scheduled"),
            "off": _("switched off"), "blanked": _("blanked")}
