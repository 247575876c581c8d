"""The console in the viewer's language (Vietnamese first) and time zone.

Central's catalogues are central/translations (scripts/admin_catalogues.py
--area central keeps them complete; a test fails on any untranslated
string), merged with the shared kiosk/web ones. Filters for templates:

    {{ row.uploaded_at | local_time }}        14:05 30/11/2026 in the viewer's zone
    {{ row.uploaded_at | local_time("seconds") }}
    {{ row.valid_from | local_date }}          30/11/2026
    {{ row.size | size }}                      4,2 MB (vi) / 4.2 MB (en)
    {{ row.duration_s | duration }}            5 phút
    {{ role_names[user.role] }}                the role in the reader's language
"""

from __future__ import annotations

from flask import current_app, session
from flask_babel import get_locale
from flask_login import current_user

from kiosk.web import formatting
from kiosk.web import i18n as web_i18n

from central.i18n import CATALOGUE

SOURCE = CATALOGUE  # central/translations, also read outside requests (central.i18n)


def select_locale() -> str:
    user_lang = current_user.language if current_user and current_user.is_authenticated else None
    return web_i18n.pick_language(session.get("lang"), user_lang,
                                  current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    """The viewer's own zone if they chose one, else the console's."""
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def local_time(value, fmt: str = "short") -> str:
    """ISO text or datetime -> "HH:mm dd/MM/yyyy" in the viewer's zone."""
    return formatting.when(value, select_timezone(), fmt in ("medium", "long", "seconds"))


def init_app(app) -> None:
    from flask_babel import gettext

    from central.console import nav
    from central.users import audit_actions, audit_who, right_names, role_names

    web_i18n.install_gettext(app)
    from central.checks import in_words

    app.jinja_env.globals["in_words"] = in_words  # a coded refusal in the reader's words
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = lambda v: formatting.local_date(v) if v else "—"
    app.jinja_env.filters["size"] = lambda n: formatting.size(n, str(get_locale()))
    app.jinja_env.filters["duration"] = lambda s: formatting.duration(s, gettext)
    # 4,4 (vi) / 4.4 (en): a decimal in the reader's language, never Python's "%.1f".
    app.jinja_env.filters["number"] = lambda v: formatting.number(v, str(get_locale()))

    @app.context_processor
    def _console_context():
        from central.console.base import console_request

        if not console_request():
            return {}
        user = current_user
        return {
            "languages": web_i18n.LANGUAGE_NAMES,
            "current_language": str(get_locale()),
            "role_names": role_names(),
            "audit_actions": audit_actions(),
            "audit_who": audit_who,
            "right_names": right_names(),
            "url_map_endpoints": app.view_functions,
            "nav_entries": nav.visible(user, app.view_functions)
            if user and user.is_authenticated else [],
        }
