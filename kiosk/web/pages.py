"""What the gate admin's and the central console's pages share around
logging in: the page layout and login templates, Flask-Login's setup for
server-side sessions, the fresh session at login and logout, and the
language switch.

    pages.use_shared_templates(app)   # kiosk/web/templates after the app's own
    pages.install_login(login_manager, find_user=lambda token: ..., refuse_first=None)
    pages.add_language_route(auth_bp, remember=..., home="dashboard.index", error=AdminError)

The templates (in kiosk/web/templates/web/): `page.html`, the page both apps
draw (an app's base.html extends it and fills brand, nav and account);
`login.html`, the login page (an app's login.html fills heading and help);
`macros.html`, the header's language switch and logout form and the login
form. Each app keeps its own storage, its own user class fields and its own
refusal type; the shapes live here once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from flask import Blueprint, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin

from kiosk.web.i18n import LANGUAGES
from kiosk.web.security import safe_next

TEMPLATES = Path(__file__).parent / "templates"


def use_shared_templates(app) -> None:
    """Find templates in the app's own folder first, then in kiosk/web's
    (whose names all start with "web/", so an app never shadows one by chance)."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    from kiosk.web import formatting

    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(str(TEMPLATES))])
    # What the shared form macros (web/macros.html date_input, datetime_input, month_input) show.
    app.jinja_env.filters["form_date"] = formatting.form_date
    app.jinja_env.filters["form_datetime"] = formatting.form_datetime
    app.jinja_env.filters["form_month"] = formatting.form_month
    app.jinja_env.globals["form_words"] = form_words


def form_words() -> dict:
    """What static/forms.js says in the page's language instead of the
    browser's: the date fields' calendar (Babel's month and weekday names,
    Monday first) and the browser's own checks of a field (required, a number's
    range, a minimum length, a pattern), which it otherwise says in the
    browser's language ("Please fill out this field.")."""
    from babel.dates import get_day_names, get_month_names
    from flask_babel import get_locale
    from flask_babel import gettext as _

    locale = str(get_locale() or "vi")
    months = get_month_names("wide", "stand-alone", locale)
    days = get_day_names("short", "stand-alone", locale)
    return {"months": [months[i] for i in range(1, 13)], "days": [days[i] for i in range(7)],
            "open": _("Pick a date on the calendar"), "previous": _("Previous month"),
            "next": _("Next month"),
            # {min} {max}: filled in by the script from the field's own attributes.
            "fill": _("Fill in this field."), "choose": _("Choose one of the list."),
            "tick": _("Tick this box to go on."), "file": _("Choose a file first."),
            "number": _("Enter a number from {min} to {max}."), "short": _("Enter at least {min} characters."),
            "fix": _("This is not written the way this field asks.")}


class SessionUser(UserMixin):
    """A signed-in person whose login is a server-side session row: Flask-Login
    keeps "s:<token>" in the signed cookie and the row decides whether it
    still works (so logging out elsewhere ends a copied cookie too)."""

    session_token: str | None = None

    def get_id(self) -> str:
        return "s:" + (self.session_token or "")


def install_login(login_manager: LoginManager, find_user: Callable[[str], SessionUser | None],
                  refuse_first: Callable[[], object] | None = None) -> None:
    """Flask-Login for a login page at auth.login: strong session protection,
    the user found by the session token of the cookie (`find_user(token)`,
    None when the session ended), and an anonymous visitor sent to log in
    and then back (GET only). `refuse_first()` may answer instead (the admin's
    JSON API: 401 rather than a redirect); None lets the redirect happen."""
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"

    @login_manager.user_loader
    def load_user(session_id: str):
        if not session_id.startswith("s:"):
            return None  # a cookie from before server-side sessions
        return find_user(session_id[2:])

    @login_manager.unauthorized_handler
    def unauthorized():
        answer = refuse_first() if refuse_first else None
        if answer is not None:
            return answer
        # full_path ends in "?" when there is no query: "/" then, not "/?".
        wanted = request.full_path.removesuffix("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=wanted))


def fresh_session() -> None:
    """Forget everything of the old session but the chosen language: at login
    (no session fixation) and logout."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def add_language_route(bp: Blueprint, remember: Callable[[str], None], home: str,
                       error: Callable[[str], Exception]) -> None:
    """POST /language on `bp` (the app's auth blueprint: endpoint auth.language,
    which the header's switch posts to): the page's language for this session,
    and `remember(lang)` for the account; back to the page it came from (or
    `home`). An unknown language is refused with `error(message)`."""

    def language():
        from flask_babel import gettext as _
        from flask_login import current_user

        lang = request.form.get("lang", "")
        if lang not in LANGUAGES:
            raise error(_("Unknown language."))
        session["lang"] = lang
        # Before signing in (the login page has the switch too) there is no
        # account to remember it for: the session keeps it through the login.
        if current_user.is_authenticated:
            remember(lang)
        return redirect(safe_next(request.form.get("next"), url_for(home)))

    bp.add_url_rule("/language", "language", language, methods=["POST"])
