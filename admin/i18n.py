"""Vietnamese first, English one click away.

The admin's catalogues are .po files in admin/translations, with the shared
ones of kiosk/web and the power area's (kiosk/power/translations); kiosk.web.i18n
compiles them into the state folder.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, session
from flask_babel import get_locale
from flask_login import current_user

from kiosk.power import words as power_words
from kiosk.web import i18n as web_i18n
from kiosk.web.i18n import LANGUAGE_NAMES, LANGUAGES

from admin.db import get_settings

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "cli_gettext", "compiled_catalogues", "select_locale", "init_app"]
SOURCE = Path(__file__).parent / "translations"
# The power area's words (health alarms: kiosk/power/words.py) are said by the
# gate's command line and by the admin alike.
POWER = power_words.CATALOGUE


def compiled_catalogues(state: Path) -> str:
    return web_i18n.compiled_catalogues(
        [("admin", SOURCE), ("web", web_i18n.SHARED), ("power", POWER)], state / "cache")


def cli_gettext(settings):
    """gettext(msgid, **params) for the gate's command line: the admin's
    catalogue over the shared one, in the gate's language (the `language`
    setting, Vietnamese unless set to English)."""
    return web_i18n.gate_gettext(settings, SOURCE, POWER)


def sync_words(settings):
    """gatecast.words "sync": `gatecast sync --once/--status` say the pull and the
    reports as the dashboard does (admin/events.py), in the gate's language."""
    from admin import events
    from kiosk.web import formatting

    say = events.Renderer(cli_gettext(settings), lambda at: formatting.when(at, settings["timezone"]),
                          lambda n: formatting.size(n, web_i18n.gate_language(settings)))
    return say.sync_round


def select_locale() -> str:
    user_lang = current_user.language if current_user and current_user.is_authenticated else None
    return web_i18n.pick_language(session.get("lang"), user_lang,
                                  current_app.config["BABEL_DEFAULT_LOCALE"])


def local_time(value, fmt: str = "short") -> str:
    """ISO text or datetime -> the gate's local time, one format everywhere
    (kiosk/web/formatting.py); fmt "medium"/"long" add the seconds (logs)."""
    from kiosk.web import formatting

    return formatting.when(value, get_settings()["timezone"], fmt in ("medium", "long", "seconds"))


def init_app(app) -> None:
    from flask_babel import gettext

    from kiosk.web import formatting

    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = lambda v: formatting.local_date(v) if v else "…"
    app.jinja_env.filters["size"] = lambda n: formatting.size(n, str(get_locale()))
    app.jinja_env.filters["megabytes"] = lambda n: formatting.megabytes(n, str(get_locale()))
    app.jinja_env.filters["duration"] = lambda s: formatting.duration(s, gettext)
    web_i18n.install_gettext(app)

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
            "event_sources": {"player": _("player"), "power": _("power"), "health": _("controller health"),
                              "sync": _("sync"),
                              "text": _("notices"), "admin": _("admin")},
        }


def say():
    """Events, alarms and outcomes in the reader's language (admin/events.py),
    built once per request."""
    from flask import g
    from flask_babel import gettext

    from admin import events
    from kiosk.web import formatting

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
