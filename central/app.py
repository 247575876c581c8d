"""The central server's HTTP side (Flask): the TUF repository as static files
(with HTTP Range, for resumed downloads), the report intake API and change
notification for gates, the management API, and the console for people.

Gates authenticate with their own bearer token; scripts (the management API)
with HTTP Basic: user name and API token; people in the console (`/`,
central/console) with a password and a server-side session. All over TLS
terminated by nginx.
"""

from __future__ import annotations

import base64
import logging
import threading
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, abort, jsonify, request, send_from_directory

from kiosk.settings import Settings
from kiosk.store import utcnow
from kiosk.webassets import static_folder

from central.alerts import AlertLoop
from central.db import Checkpointer, open_central_db
from central import gate_tokens
from central.fleet import find_gate, get_gate
from central.gate_reports import PREFIX, UNAUTHORISED, GateReports, bearer_token
from central.intake import BadReport, prune_heartbeats, prune_proof_of_play, record_screenshot
from central.feed import feed_for
from central.notify import ReleaseWatch
from central.repo import Repository
from central.checks import NotFound
from central import alerts_page, console, manage, report_api, reportview

log = logging.getLogger("gatecast.central")
# Versioned metadata and hash-prefixed targets never change: cache forever.
# timestamp.json and root.json (and not-yet-existing N.root.json) must be revalidated.
IMMUTABLE = "public, max-age=31536000, immutable"
# On every answer that does not set its own (the console sets stricter ones).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy":
        "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'",
}


def repository_for(settings: Settings, offline_keys_dir=None) -> Repository:
    return Repository(
        settings.state_path, offline_keys_dir,
        online_expiry=timedelta(days=settings["central_online_expiry_days"]),
        offline_expiry=timedelta(days=settings["central_offline_expiry_days"]),
        timezone=settings["central_timezone"])


def create_app(settings: Settings, background: bool = False, migrate: bool = True) -> Flask:
    """The central app on `settings` (central.settings). `migrate=False`: the
    caller already migrated (gunicorn's master does, once, before forking)."""
    state_dir = settings.state_path
    store = open_central_db(settings, migrate_first=migrate, background_checkpoint=True)
    # /static/: the stylesheet and script the gate admin uses too (static/ in the checkout).
    app = Flask(__name__, static_folder=str(static_folder()), static_url_path="/static")
    # Every body is bounded by the report limit; the media upload raises its own.
    app.config["MAX_CONTENT_LENGTH"] = int(settings["central_max_report_mb"] * 2**20)
    app.config["SETTINGS"] = settings
    app.extensions["central_store"] = store
    checkpointer = Checkpointer(store.sqlite_path) if store.is_sqlite else None
    app.extensions["checkpointer"] = checkpointer

    def db():
        # The store: each library call takes a pooled connection for one
        # short transaction. Threads start on first use, after gunicorn's fork.
        if checkpointer is not None:
            checkpointer.start()
        return store

    watch = ReleaseWatch(store)
    app.extensions["release_watch"] = watch
    repo = repository_for(settings)
    if background:
        _start_housekeeping(repo, db, settings)
        # Every server runs it; the alerts lock lets one of them work at a time.
        app.extensions["alert_loop"] = AlertLoop(store, settings).start()

    @app.after_request
    def security_headers(resp):
        # Werkzeug's conditional responses add a Date the WSGI server adds
        # again; two Date headers break a gate's clock sanity check.
        resp.headers.pop("Date", None)
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)
        return resp

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    # ---- the signed repository, as static files ----------------------------
    def _static(folder: Path, name: str):
        resp = send_from_directory(folder, name, conditional=True, max_age=None)
        base = name.rsplit("/", 1)[-1]
        fresh = base in ("timestamp.json", "root.json")
        resp.headers["Cache-Control"] = "no-cache" if fresh else IMMUTABLE
        return resp

    @app.get("/tuf/metadata/<path:name>")
    def tuf_metadata(name):
        return _static(repo.metadata_dir, name)

    @app.get("/tuf/targets/<path:name>")
    def tuf_targets(name):
        return _static(repo.targets_dir, name)

    # ---- gates: reports and change notification ----------------------------
    def _bad(message: str, status: int = 400):
        return jsonify({"error": message}), status

    good_tokens = app.extensions["gate_tokens"] = gate_tokens.GoodTokens(
        settings["central_gate_token_cache_s"], look_up=find_gate)
    if background:
        good_tokens.keep_fresh(store)

    def _gate_auth(gate_id: str, cached: bool = False) -> dict:
        """The gate, when the request carries its token (else 401). `cached`: a
        token found good in the last central_gate_token_cache_s seconds is
        taken without the gate look-up (central.gate_tokens says the bound)."""
        gate = good_tokens.check(db(), gate_id, bearer_token(request.headers.get(
            "Authorization", "")), cached)
        if gate is None:  # the same answer for an unknown gate and a wrong token
            status, headers, body = reports.respond(*UNAUTHORISED)  # the reports' own 401
            abort(Response(body, status, headers))
        return gate

    # Gate reports (the combined report; heartbeats and proof of play from older
    # gates): answered in front of Flask (central.gate_reports: token from memory,
    # one JSON parse, group commit). The routes stay for Flask's own answers to
    # other methods (405) and go through the same code.
    reports = GateReports(app.wsgi_app, store, good_tokens, watch, settings, SECURITY_HEADERS)
    app.wsgi_app = FeedTokenChecks(reports, db, good_tokens)
    app.extensions["gate_reports"] = reports

    def _report(gate_id, kind):
        status, answer, headers = reports.answer(request.environ, gate_id, kind)
        return jsonify(answer), int(status.split()[0]), headers

    @app.post("/api/v1/gates/<gate_id>/report")
    def report(gate_id):
        return _report(gate_id, "report")

    @app.post("/api/v1/gates/<gate_id>/heartbeat")
    def heartbeat(gate_id):
        return _report(gate_id, "heartbeat")

    @app.post("/api/v1/gates/<gate_id>/proof-of-play")
    def proof_of_play(gate_id):
        return _report(gate_id, "proof-of-play")

    @app.post("/api/v1/gates/<gate_id>/screenshots/<int:face_id>")
    def screenshot(gate_id, face_id):
        gate = _gate_auth(gate_id)
        try:
            name = record_screenshot(db(), state_dir, gate, face_id, request.get_data(),
                                     request.content_type, request.headers.get("X-Taken-At"))
        except BadReport as e:
            return _bad(str(e))
        return {"ok": True, "file": name}

    @app.get("/api/v1/gates/<gate_id>/feed-auth")
    def feed_auth(gate_id):
        """nginx asks here before it holds a gate's long poll (answered by
        FeedTokenChecks in front of Flask; this route is for Flask's own answers)."""
        _gate_auth(gate_id, cached=True)
        return Response(status=200, headers={"Cache-Control": "no-store"})

    @app.get("/api/v1/gates/<gate_id>/wait")
    def wait(gate_id):
        _gate_auth(gate_id, cached=True)
        try:
            known = int(request.args.get("version", "0"))
            timeout = float(request.args.get("timeout", "60"))
        except ValueError:
            return _bad("version is an integer and timeout a number of seconds")
        if not 0 <= timeout:
            return _bad("timeout must not be negative")
        timeout = min(timeout, settings["central_wait_max_s"])
        version = watch.wait(gate_id, known, timeout)
        if version is None:
            return Response(status=204, headers={"Cache-Control": "no-store"})
        return jsonify({"version": version}), 200, {"Cache-Control": "no-store"}

    # ---- people: the overview and the management API ------------------------
    app.extensions["central_db"] = db
    app.extensions["central_repo"] = repo
    app.extensions["central_feed"] = feed_for(settings)
    app.register_blueprint(manage.bp)
    app.register_blueprint(report_api.bp)
    person = manage.person

    @app.get("/screenshots/<gate_id>/<name>")
    def screenshot_file(gate_id, name):
        person("view")
        get_gate(db(), gate_id)  # only registered ids (no '..') name a folder
        resp = send_from_directory(state_dir / "screenshots" / gate_id, name)
        resp.headers["Cache-Control"] = "private, no-cache"
        return resp

    @app.errorhandler(NotFound)
    def not_found(e):
        return _bad(str(e), 404)

    # ---- people: the console (central/console), at / ------------------------------
    console.init_app(app, settings)
    from central import fleetview  # console-fleet's pages
    from central.console import assignments, emergency, publishing  # console-publish's pages

    for page in (assignments.bp, publishing.bp, emergency.bp, fleetview.bp):
        console.register(app, page)
    console.register(app, reportview.bp)
    console.register(app, alerts_page.bp)
    return app


class FeedTokenChecks:
    """nginx's "is this the gate's token?" before it holds a gate's long poll (GET
    /api/v1/gates/<id>/feed-auth; nginx keeps a good answer 300 s, so ~33 checks a
    second at 10,000 gates) answered in front of Flask: the same token memory and
    answers as the route, without Flask's request context, routing and hooks (0.58 ms
    of gunicorn's CPU per check through Flask; docs/benchmarks.md #14, quiet)."""

    SUFFIX = "/feed-auth"

    def __init__(self, app: GateReports, db, tokens: gate_tokens.GoodTokens):
        self.app, self.db, self.tokens = app, db, tokens

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        gate_id = path[len(PREFIX):-len(self.SUFFIX)]
        if (environ.get("REQUEST_METHOD") != "GET" or not path.endswith(self.SUFFIX)
                or not path.startswith(PREFIX) or not gate_id or "/" in gate_id):
            return self.app(environ, start_response)
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if self.tokens.check(self.db(), gate_id, token, cached=True) is not None:
            status, headers, body = "200 OK", [("Cache-Control", "no-store"),
                                               *SECURITY_HEADERS.items(),
                                               ("Content-Length", "0")], b""
        else:  # the reports' 401, byte for byte (an unknown gate or a wrong token)
            status, headers, body = self.app.respond(*UNAUTHORISED)
        start_response(status, headers)
        return [body]


def _start_housekeeping(repo: Repository, db, settings: Settings) -> None:
    """Re-sign online metadata before it expires, prune superseded repository
    files (older than a week), old heartbeats and old raw proof of play, and
    withdraw media past its valid-until from the releases in force.
    Every worker runs it; the repository lock and the half-life rule make the
    second one find nothing to do."""

    def run():
        from central.publish import withdraw_expired

        feed = feed_for(settings)
        while True:
            try:
                signed = repo.refresh()
                if signed:
                    log.info("re-signed %s before expiry", ", ".join(signed))
                pruned = repo.prune()
                if any(pruned.values()):
                    log.info("pruned superseded files: %s", pruned)
                days = settings["central_heartbeat_history_days"]
                prune_heartbeats(db(), utcnow() - timedelta(days=days))
                withdrawn = withdraw_expired(db(), repo, feed=feed)
                if withdrawn is not None:
                    log.info("withdrew media past its valid-until from %s",
                             ", ".join(sorted(withdrawn.changed)))
                days = settings["central_play_retention_days"]
                if days > 0:
                    prune_proof_of_play(db(), utcnow() - timedelta(days=days))
            except Exception:
                log.exception("housekeeping failed; retrying in 10 minutes")
            threading.Event().wait(600)

    threading.Thread(target=run, name="central-housekeeping", daemon=True).start()


def basic_auth_header(user: str, token: str) -> str:
    """For clients and tests: the Authorization header of a person."""
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
