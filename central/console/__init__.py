"""The central console: the content desk's pages, served by central's Flask
app at `/` beside the gate API (`/api/v1`), the signed files (`/tuf`) and
the change feed, which it leaves alone.

How a page joins (the full recipe is in docs/console.md):

    from flask import Blueprint, render_template
    from flask_babel import lazy_gettext as _l
    from central.console import nav
    from central.console.base import require, store, who

    bp = Blueprint("fleet", __name__, url_prefix="/fleet")
    nav.add("fleet.index", _l("Fleet"), right="view", order=60)

    @bp.get("/")
    @require("view")
    def index():
        return render_template("fleet.html", gates=...)

and in central/app.py one line: `console.register(app, fleet.bp)`. Page
modules import from `central.console.base` and `central.console.nav`, never
from this package itself (which imports the pages: that would be a circle).

A registered blueprint gets: login required on every route (a user who must
change a one-time password is sent to do so first), the CSRF check on every
POST/PUT/PATCH/DELETE (forms carry `{{ csrf_token() }}`, scripts send the
X-CSRFToken header), the strict CSP and no-store headers, the page in the
viewer's language and time zone, and CentralError answered as a message in
the user's language (a flash and back to the form, or JSON for scripts).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask

from kiosk.web import i18n as web_i18n
from kiosk.web.i18n import LANGUAGES, compiled_catalogues
from kiosk.web.pages import use_shared_templates
from kiosk.web.security import install_headers, secret_key

from central.console.base import (CONSOLE_BLUEPRINTS_KEY, babel, console_request, csrf, error_page,
                                  handle_error, login_manager)
from central.console import i18n, security

__all__ = ["init_app", "register"]


def register(app: Flask, bp: Blueprint) -> None:
    """Serve `bp` as console pages (login, CSRF, CSP, language, errors)."""
    app.extensions[CONSOLE_BLUEPRINTS_KEY].add(bp.name)
    app.register_blueprint(bp)


def init_app(app: Flask, central_settings) -> None:
    """Wire the console into central's app and register its own pages."""
    from zoneinfo import ZoneInfo

    s = central_settings
    ZoneInfo(s["central_timezone"])  # an unknown zone stops the server at start, not a page
    app.extensions[CONSOLE_BLUEPRINTS_KEY] = set()
    app.config.update(
        SECRET_KEY=s["central_secret_key"] or secret_key(s.state_path / "central-secret-key"),
        SESSION_COOKIE_NAME="gatecast_central",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(s["central_secure_cookie"]),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=float(s["central_session_hours"])),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked for console pages only (security.py)
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=bool(s["central_secure_cookie"]),
        BABEL_DEFAULT_LOCALE=s["central_language"] if s["central_language"] in LANGUAGES
        else "vi",
        BABEL_DEFAULT_TIMEZONE=s["central_timezone"],
        BABEL_TRANSLATION_DIRECTORIES=compiled_catalogues(
            [("central", i18n.SOURCE), ("web", web_i18n.SHARED)], s.state_path / "cache"),
    )
    use_shared_templates(app)  # the page layout and login form shared with the gate admin
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=i18n.select_timezone)
    security.init_app(app)
    i18n.init_app(app)
    _errors(app, s)
    from central.fleetmap import tile_origin

    # The fleet map's optional tile server is the only other place images may come from.
    install_headers(app, img_sources=[tile_origin(s["central_map_tile_url"])],
                    applies=lambda req: console_request() or req.endpoint == "static")

    from central.console import account, audit, auth, home, library, users

    for bp in (auth.bp, account.bp, home.bp, users.bp, library.bp, audit.bp):
        register(app, bp)


def _errors(app: Flask, s) -> None:
    """CentralError on a console page: its message in the user's language
    (central.console.base.handle_error). Elsewhere as before: a missing
    gate, media or user is a JSON 404 for the API. HTTP errors (an unknown
    address, 403/405/413, a stale form, a failure inside) get the console's
    error page, or JSON under /api/ (kiosk/web/errors.py, shared with the
    gate admin)."""
    from flask import jsonify, request

    from kiosk.web import errors as web_errors

    from central.checks import CentralError, NotFound

    def respond(message, status):
        if console_request():
            return error_page(message, status)
        return jsonify({"error": str(message)}), status

    def upload_limit_mb() -> int:
        # The library's upload raises the limit for its request to media_max_mb.
        report_mb = float(s["central_max_report_mb"])
        if (request.max_content_length or 0) > report_mb * 2**20:
            return int(s["media_max_mb"])
        return int(report_mb)

    web_errors.install(app, respond=respond, upload_limit_mb=upload_limit_mb)

    def central_error(e):
        if request.blueprint in app.extensions[CONSOLE_BLUEPRINTS_KEY]:
            return handle_error(e)
        if isinstance(e, NotFound):
            return jsonify({"error": str(e)}), 404
        raise e

    # Replaces central/app.py's NotFound handler, which it keeps for the API.
    app.register_error_handler(NotFound, central_error)
    app.register_error_handler(CentralError, central_error)
