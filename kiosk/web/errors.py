"""HTTP errors in the reader's language, for the gate admin and the central
console alike: an unknown address, a forbidden or wrong kind of request, an
upload over the limit, a stale or missing form token, and a failure inside
the server (logged with a short reference; the traceback is never shown).

Each app says how an error is answered (`respond(message, status)`: its own
error page, or JSON for its API and its pages' scripts); the sentences live
here once, in the shared catalogue (kiosk/web/translations).

    errors.install(app, respond=error_response, upload_limit_mb=lambda: 200)
"""

from __future__ import annotations

import logging
import secrets
from typing import Callable

from flask import Flask
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("gatecast.web")


def http_message(code: int) -> str:
    """The sentence for an HTTP error status (a generic one for the rest)."""
    return {
        400: lambda: _("The request was not understood. Go back, reload the page and try again."),
        403: lambda: _("Your role may not open this page. Ask an administrator if you need it."),
        404: lambda: _("This page or item does not exist. Check the address, or go back and "
                       "follow a link."),
        405: lambda: _("This address does not take this kind of request. Use the page's own "
                       "links, buttons and forms."),
        429: lambda: _("Too many attempts in a short time. Wait a minute and try again."),
    }.get(code, lambda: _("The request could not be answered (error %(code)s).", code=code))()


def title(code: int) -> str:
    """The error page's heading."""
    return {
        403: lambda: _("Not allowed"),
        404: lambda: _("Page not found"),
        413: lambda: _("File too large"),
        500: lambda: _("Something went wrong"),
    }.get(code, lambda: _("This did not work"))()


def csrf_message(e: CSRFError) -> str:
    """A refused form, said with what to do. Flask-WTF tells the cases apart
    only by its (English) description."""
    reason = (e.description or "").lower()
    if "missing" in reason and "session" not in reason:
        return _("The form carried no security token, so nothing was saved. Reload the page "
                 "and send the form from it again.")
    if "session" in reason:
        return _("Your session changed since this page was shown (you signed in again, or it "
                 "ended), so nothing was saved. Reload the page and try again.")
    return _("The form is out of date (it was shown before a change to your session), so "
             "nothing was saved. Reload the page and try again.")


def too_large_message(limit_mb: int) -> str:
    return _("The upload is larger than the limit of %(n)d MB; nothing was stored.", n=limit_mb)


def server_error_message(reference: str) -> str:
    return _("Something went wrong inside the server; nothing of it is shown here, and it was "
             "logged with the reference %(ref)s. Try again; if it happens again, give that "
             "reference to whoever looks after the server.", ref=reference)


def install(app: Flask, respond: Callable[[str, int], object],
            upload_limit_mb: Callable[[], int]) -> None:
    """Answer every HTTP error and every unexpected exception of `app`
    through `respond`. An app's own more specific handlers (its domain
    errors) still win: Flask picks the nearest class."""

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError):
        return respond(csrf_message(e), 400)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(e):
        return respond(too_large_message(int(upload_limit_mb())), 413)

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if e.response is not None:
            return e.get_response()  # abort(Response(...)): made on purpose
        if e.code >= 500:
            return unexpected(e)
        resp = app.make_response(respond(http_message(e.code), e.code))
        for name, value in e.get_headers():  # Allow (405), Retry-After (429)...
            if name.lower() not in ("content-type", "content-length"):
                resp.headers[name] = value
        return resp

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        reference = secrets.token_hex(4)
        app.logger.error("unexpected error (reference %s)", reference, exc_info=e)
        return respond(server_error_message(reference), 500)
