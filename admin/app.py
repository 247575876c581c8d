"""The admin application factory.

Served with gunicorn (`gatecast admin --bind HOST:PORT`, or
`gunicorn 'admin:create_app()'`). Settings come from kiosk.settings (config
file, database, GATECAST_* environment); `test_config` may name STATE_DIR and
CONFIG_FILE and override Flask keys.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from flask import Flask

from kiosk.settings import load_settings
from kiosk.store import open_db
from kiosk.web.pages import use_shared_templates
from kiosk.web.security import secret_key
from kiosk.webassets import static_folder

from admin import db, errors, i18n, security
from admin.extensions import babel, csrf, login_manager

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    cfg = dict(test_config or {})
    # /static/: the top-level static/ folder, shared with the central console.
    app = Flask(__name__, static_folder=str(static_folder()), static_url_path="/static")
    use_shared_templates(app)  # the page layout and login form shared with the console
    config_file = cfg.pop("CONFIG_FILE", None) or os.environ.get("GATECAST_CONFIG") or None
    state_dir = cfg.pop("STATE_DIR", None)
    settings = load_settings(
        config_file=Path(config_file) if config_file else None,
        state_dir=Path(state_dir) if state_dir else None,
    )
    # Migrate once here so that requests only ever open a connection.
    open_db(settings.db_path).close()
    app.extensions["gatecast_settings"] = settings

    app.config.from_mapping(
        SECRET_KEY=settings["admin_secret_key"] or secret_key(settings.state_path / "admin-secret-key"),
        SESSION_COOKIE_NAME="gatecast_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings["admin_secure_cookie"]),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=float(settings["admin_session_hours"])),
        # Flask-Login's "remember me" cookie is never set: a login ends with the session.
        REMEMBER_COOKIE_HTTPONLY=True,
        # Uploads stream into the media store; this only cuts off absurd bodies
        # early (the validator enforces the real limit with a clear message).
        MAX_CONTENT_LENGTH=int(settings["media_max_mb"]) * 1024 * 1024 + 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        BABEL_DEFAULT_LOCALE=settings["language"] if settings["language"] in i18n.LANGUAGES else "vi",
        BABEL_DEFAULT_TIMEZONE=settings["timezone"],
        BABEL_TRANSLATION_DIRECTORIES=i18n.compiled_catalogues(settings.state_path),
        JSON_SORT_KEYS=False,
    )
    app.config.update(cfg)
    if app.config.get("ADMIN_TLS"):
        # Served over HTTPS (gatecast admin, admin/tls.py): the cookie never travels in clear.
        app.config["SESSION_COOKIE_SECURE"] = True

    login_manager.init_app(app)
    # The login check is registered before CSRFProtect's so that an anonymous
    # request is always answered "log in" rather than "bad token".
    security.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=lambda: settings["timezone"])
    i18n.init_app(app)
    db.init_app(app)
    errors.init_app(app)

    from admin.views import register_blueprints

    register_blueprints(app)
    return app

