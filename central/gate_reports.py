"""The gates' reports, answered in front of Flask and stored by group commit.

Every gate reports once a minute (10,000 gates: ~167 requests a second, more when
they catch up after an outage). A gate of this version sends ONE request a minute,
POST /api/v1/gates/<id>/report, whose body carries its heartbeat and the proof of
play queued since (docs/sync-protocol.md, "Reports"); older gates send the two
separately (POST heartbeat, POST proof-of-play), which stay. Through Flask each
request cost several milliseconds of CPU (request context, routing, the console's
hooks, a transaction and five statements of its own); here a request costs its
token check in memory (central.gate_tokens), one JSON parse, the checks of
central.intake, and a share of a transaction:

- `GateReports` is WSGI middleware: POST report, heartbeat and proof-of-play are
  answered here (401 bad gate token, 400 with the reason, 413 too large); everything
  else goes on to Flask, whose routes for the same URLs go through the same code.
- `GroupCommit`: ONE writer thread per process for every kind of report. A request
  queues its checked report (central.intake.Report: a heartbeat, proof-of-play rows
  or both) and waits; the writer takes everything queued, stores it in ONE
  transaction (central.intake.store_reports: one statement per table for the whole
  batch, daily totals summed per batch) and wakes every request in it once that
  transaction committed. A combined report's heartbeat and proof of play are thus
  stored together or not at all. No timer: while one batch is written the next one
  gathers, so an idle server answers at once and a busy one shares each commit among
  dozens of requests. A request is answered only after its report is committed, so
  an answer still means "stored" (proof of play: the gate forgets what central
  acknowledged); a batch of heartbeats only commits asynchronously on PostgreSQL
  (central.intake), so its commit waits for no disk.
- A failed batch is written again one report at a time, and a failed combined report
  one part at a time: a heartbeat that cannot be stored never loses the proof of
  play that came with it, nor the other way round.
- The rules live in ONE place for both servers. `GateReports.prepare` turns an
  authorised gate's request into its answer when it needs no commit (400, 413), or
  into a `Pending` report with how to answer it once stored (`finish`). gunicorn's
  WSGI path waits for the commit in its request thread (`GroupCommit.submit`); the
  event-driven report server (central.report_server) checks the token on its event
  loop and runs `prepare`, `GroupCommit.commit` and `finish` in its writer process
  (central.report_writer), so no thread waits there for a report.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import NamedTuple

from kiosk.store import utcnow

from central import jsonread
from central.intake import (
    BadReport,
    Report,
    check_heartbeat,
    check_proof_of_play,
    check_report,
    store_reports,
)

log = logging.getLogger("gatecast.central.intake")

PREFIX = "/api/v1/gates/"
KINDS = ("report", "heartbeat", "proof-of-play")
BAD_GATE_TOKEN = {"error": "bad gate token"}
BAD_GATE_TOKEN_CHALLENGE = ("WWW-Authenticate", 'Bearer realm="gatecast"')
NOT_JSON = "the body must be JSON (Content-Type: application/json)"
NOT_STORED = "central could not store the report; send it again later"
# The same answer for an unknown gate and a wrong token.
UNAUTHORISED = ("401 UNAUTHORIZED", BAD_GATE_TOKEN, [BAD_GATE_TOKEN_CHALLENGE])


class _Waiter:
    """One request waiting for its batch's commit."""

    __slots__ = ("_lock", "result", "error")

    def __init__(self):
        self._lock = threading.Lock()
        self._lock.acquire()
        self.result = self.error = None

    def done(self, result=None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self._lock.release()

    def wait(self):
        self._lock.acquire()
        if self.error is not None:
            raise self.error
        return self.result


class Then:
    """A waiter answered by a callback once its batch committed or failed (the
    report server's writer process: `GroupCommit.commit` called directly)."""

    __slots__ = ("then",)

    def __init__(self, then):
        self.then = then

    def done(self, result=None, error: BaseException | None = None) -> None:
        self.then(result, error)


class Pending(NamedTuple):
    """A checked report waiting for its commit: `finish(result, error)` (the
    writer's result for `item`, or what writing it raised) makes its answer."""

    item: Report
    finish: Callable[[object, BaseException | None], tuple[str, dict, list]]


# The result of a part of a combined report that could not be stored on its own.
PART_FAILED = object()


class GroupCommit:
    """Reports written by one thread, many to a transaction. `write(conn, reports)`
    stores a list of central.intake.Report in the open write transaction and
    returns one result per report; `submit(report)` returns the report's result
    once its transaction committed (or raises what writing it raised). When a batch
    fails, each of its reports is written again on its own, so one bad report fails
    only its own request; a combined report that fails on its own is written again
    part by part, and its result is then {part: its result or PART_FAILED}."""

    MAX_BATCH = 500

    def __init__(self, store, write, name: str):
        self._store, self._write, self.name = store, write, name
        self._cond = threading.Condition()
        self._queue: list[tuple[object, _Waiter]] = []
        self._thread: threading.Thread | None = None
        self.batches = self.items = 0  # for benchmarks: items / batches = sharing

    def submit(self, item):
        waiter = _Waiter()
        with self._cond:
            if self._thread is None:  # started on first use: after gunicorn's fork
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._queue.append((item, waiter))
            self._cond.notify()
        return waiter.wait()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch = self._queue[:self.MAX_BATCH]
                del self._queue[:self.MAX_BATCH]
            self.commit(batch)

    def commit(self, batch) -> None:
        """Write `batch`, [(report, waiter)], in one transaction and answer each
        waiter (`done(result)` or `done(error=...)`), retrying as the class says."""
        try:
            with self._store.transaction(write=True) as conn:
                results = self._write(conn, [item for item, _ in batch])
        except Exception as e:
            if len(batch) == 1:
                item, waiter = batch[0]
                parts = item.parts()
                if len(parts) < 2:
                    waiter.done(error=e)
                    return
                log.warning("a combined report from %s failed (%s); writing its parts "
                            "one by one", item.gate_id, e)
                waiter.done({name: self._alone(part) for name, part in parts.items()})
                return
            log.warning("a batch of %d %s failed (%s); writing them one by one",
                        len(batch), self.name, e)
            for one in batch:
                self.commit([one])
            return
        self.batches += 1
        self.items += len(batch)
        for (_, waiter), result in zip(batch, results):
            waiter.done(result)

    def _alone(self, part):
        """One part of a failed combined report, in its own transaction."""
        try:
            with self._store.transaction(write=True) as conn:
                result = self._write(conn, [part])[0]
        except Exception as e:
            log.warning("a part of a report from %s failed on its own: %s", part.gate_id, e)
            return PART_FAILED
        self.batches += 1
        self.items += 1
        return result


def report_writer(store, settings) -> GroupCommit:
    """The group commit of gate reports into `store` on central's `settings` (in
    GateReports, and in the report server's writer process)."""
    from zoneinfo import ZoneInfo

    interval_s = settings["central_heartbeat_interval_s"]
    tz = ZoneInfo(settings["central_timezone"])
    return GroupCommit(store, lambda conn, reports: store_reports(
        conn, reports, interval_s=interval_s, tz=tz), "central-reports")


class GateReports:
    """WSGI middleware answering the gates' reports (see the module's docstring);
    `app`: the Flask app's own WSGI callable for the rest."""

    def __init__(self, app, store, tokens, watch, settings, headers: dict[str, str]):
        self.app, self.store, self.tokens, self.watch = app, store, tokens, watch
        self.max_bytes = int(settings["central_max_report_mb"] * 2**20)
        self.headers = [(k, v) for k, v in headers.items()]
        self.writer = report_writer(store, settings)

    def __call__(self, environ, start_response):
        route = self.route(environ)
        if route is None:
            return self.app(environ, start_response)
        status, headers, body = self.respond(*self.answer(environ, *route))
        start_response(status, headers)
        return [body]

    @staticmethod
    def route(environ) -> tuple[str, str] | None:
        """(gate id, kind) when the request is a gate report answered here."""
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) and environ.get("REQUEST_METHOD") == "POST":
            gate_id, _, kind = path[len(PREFIX):].partition("/")
            if gate_id and kind in KINDS:
                return gate_id, kind
        return None

    def respond(self, status: str, answer: dict, extra: list) -> tuple[str, list, bytes]:
        """An answer as its status line, headers and body."""
        body = (json.dumps(answer, sort_keys=True, separators=(",", ":")) + "\n").encode()
        return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                        *self.headers, *extra], body

    def answer(self, environ, gate_id: str, kind: str) -> tuple[str, dict, list]:
        """The answer to a report, once it is stored (this thread waits for its commit)."""
        if not self.authorised(gate_id, environ.get("HTTP_AUTHORIZATION", "")):
            return UNAUTHORISED
        ready = self.prepare(environ, gate_id, kind)
        if not isinstance(ready, Pending):
            return ready
        try:
            result, error = self.writer.submit(ready.item), None
        except Exception as e:
            result, error = None, e
        return ready.finish(result, error)

    def prepare(self, environ, gate_id: str, kind: str) -> tuple[str, dict, list] | Pending:
        """The answer to an authorised gate's report when it needs no commit (413,
        400), else its checked report and how to answer it once stored (`finish`).
        Reads no database: central.report_writer runs it in the writer process."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > 0 and length <= self.max_bytes:
            data = environ["wsgi.input"].read(length)
        elif length == 0 and environ.get("wsgi.input_terminated"):
            # chunked: read to its end, bounded
            data = environ["wsgi.input"].read(self.max_bytes + 1)
            length = len(data)
        else:
            data = b""
        if length > self.max_bytes:
            return "413 REQUEST ENTITY TOO LARGE", {
                "error": f"a report is at most {self.max_bytes} bytes"}, []
        try:
            body = _json(environ.get("CONTENT_TYPE", ""), data)
            now = utcnow()
            if kind == "report":
                return self.combined(gate_id, body, now)
            if kind == "heartbeat":
                return Pending(Report(gate_id, now, beat=check_heartbeat(body)),
                               self._single(kind, gate_id, None))
            received, rows = check_proof_of_play(gate_id, body, now)
            return Pending(Report(gate_id, now, plays=rows), self._single(kind, gate_id, received))
        except BadReport as e:
            return "400 BAD REQUEST", {"error": str(e)}, []
        except Exception:
            log.exception("checking a %s from %s failed", kind, gate_id)
            return "500 INTERNAL SERVER ERROR", {"error": NOT_STORED}, []

    def _single(self, kind: str, gate_id: str, received: int | None):
        """How a heartbeat or a proof-of-play batch (of `received` rows) is answered
        once stored: as its own endpoint always answered it."""
        def finish(result, error):
            if isinstance(error, BadReport):
                return "400 BAD REQUEST", {"error": str(error)}, []
            if error is not None:
                log.error("storing a %s from %s failed", kind, gate_id, exc_info=error)
                return "500 INTERNAL SERVER ERROR", {"error": NOT_STORED}, []
            if kind == "heartbeat":
                return "200 OK", self.heartbeat_answer(gate_id), []
            return "200 OK", {"received": received, "new": result}, []
        return finish

    def combined(self, gate_id: str, body, now) -> tuple[str, dict, list] | Pending:
        """POST report: each part sent is answered in its place, as its own endpoint
        answers it (a refused or unstored part as {"error", "status"}); 200 when
        anything was stored, else 400 (refused) or 500 (could not be stored)."""
        report, received, refused = check_report(gate_id, body, now)
        answer = {part: {"error": str(e), "status": 400} for part, e in refused.items()}
        sent = report.parts()
        if not sent:
            return self._combined_answer(answer, refused)

        def finish(result, error):
            if error is not None:  # nothing of it stored: the gate sends it all again
                log.error("storing a report from %s failed", gate_id, exc_info=error)
                result = dict.fromkeys(sent, PART_FAILED)
            if not isinstance(result, dict):  # written whole: the rows it added
                result = {"heartbeat": None, "proof_of_play": result}
            for part in sent:
                if result[part] is PART_FAILED:
                    answer[part] = {"error": NOT_STORED, "status": 500}
                elif part == "heartbeat":
                    answer[part] = self.heartbeat_answer(gate_id)
                else:
                    answer[part] = {"received": received, "new": result[part]}
            return self._combined_answer(answer, refused)
        return Pending(report, finish)

    @staticmethod
    def _combined_answer(answer: dict, refused: dict) -> tuple[str, dict, list]:
        statuses = {a.get("status", 200) for a in answer.values()}
        if 200 in statuses:
            return "200 OK", answer, []
        if 500 in statuses:
            return "500 INTERNAL SERVER ERROR", {"error": NOT_STORED, **answer}, []
        return "400 BAD REQUEST", {"error": "; ".join(str(e) for e in refused.values()),
                                   **answer}, []

    def heartbeat_answer(self, gate_id: str) -> dict:
        """What a stored heartbeat is answered: the gate's current release version
        (a second way, besides the change feed, to learn there is something new)."""
        return {"ok": True, "published_version": self.watch.current(gate_id)}

    def authorised(self, gate_id: str, header: str) -> bool:
        """The request carries the gate's token (central.gate_tokens: remembered, or
        looked up and then remembered)."""
        return self.tokens.check(self.store, gate_id, bearer_token(header)) is not None


def bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer ...` header ('' without one)."""
    return header[7:] if header[:7].lower() == "bearer " else ""


def _json(content_type: str, data: bytes):
    """The body as Flask's request.get_json(silent=True) reads it, or BadReport."""
    mimetype = content_type.split(";", 1)[0].strip().lower()
    if not (mimetype == "application/json"
            or (mimetype.startswith("application/") and mimetype.endswith("+json"))):
        raise BadReport(NOT_JSON)
    try:
        body = jsonread.loads(data)
    except ValueError:
        body = None
    if body is None:
        raise BadReport(NOT_JSON)
    return body
