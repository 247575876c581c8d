"""Reports to central (docs/sync-protocol.md, "Reports") and the change notification.

`flush()` empties the upstream queue while the link holds. Heartbeats and proof of
play go together, ONE request per heartbeat (`POST report`): each queued heartbeat,
oldest first, carries the oldest unsent proof-of-play rows (at most PLAY_BATCH rows
and PLAY_BYTES of them), so the backlog of an outage rides in the heartbeats queued
during it; rows left after the last heartbeat go in reports of their own. Then
screenshots. A central that predates `report` (404) gets the two separate requests
as before: proof of play first (the Circular's reporting depends on it), then
heartbeats oldest first.

A 5xx or a network error stops the flush and everything stays queued; a 401 stops
it and says the token is wrong; any other 4xx means central refuses that item as
malformed: heartbeats and screenshots are dropped and logged, a proof-of-play batch
is split until the refused rows are found, which are set aside (never deleted). A
report's answer says this per part: a refused part is handled as that item's 4xx, a
part central could not store stays queued (the flush stops, as on a 5xx), and the
gate forgets rows only once central's answer acknowledged them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import urllib3

from kiosk import __version__
from kiosk.store import iso, log_event, utcnow
from kiosk.sync.link import Link
from kiosk.sync.outbox import outbox_dir, remove_item
from kiosk.sync.schema import installation_id

PLAY_BATCH = 500  # proof-of-play rows per request, at most
PLAY_BYTES = 256 * 1024  # ... and at most this much of them (a row is ~250 bytes)
HEARTBEATS_PER_FLUSH = 200
SCREENSHOTS_PER_FLUSH = 20
PLAY_FIELDS = ("id", "face_id", "media_sha256", "entry_id", "level", "started_at", "ended_at",
               "outcome", "reason")


class Offline(Exception):
    """Central could not be reached, or answered 5xx: try again later."""


class Unauthorised(Exception):
    """Central refused the gate's token (401)."""


class NotSupported(Exception):
    """Central has no change notification (404): fall back to polling."""


class _LongPollCut(Exception):
    """The gate stopped waiting before the server answered: no news."""


# How much longer than its `timeout` a long poll may take before the gate hangs up.
WAIT_GRACE_S = 5


def read_token(path: Path | str) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as e:
        raise Unauthorised(f"gate token file {path}: {e.strerror}") from None
    if not token:
        raise Unauthorised(f"gate token file {path} is empty")
    return token


@dataclass
class FlushResult:
    sent: dict[str, int] = field(default_factory=lambda: {
        "proof_of_play": 0, "heartbeats": 0, "screenshots": 0})
    dropped: int = 0
    error: str | None = None
    code: str = "ok"  # ok | offline | unauthorised
    requests: int = 0  # report requests made (screenshots apart)
    # Central's answer to a heartbeat names the gate's current release version: a
    # second way (besides the long-poll) to learn that there is something to pull.
    published_version: int | None = None


class Reporter:
    def __init__(self, central_url: str, gate_id: str, token: str, timeout: float = 30.0,
                 pool: Link | urllib3.PoolManager | None = None, combined: bool = True):
        self.base = f"{central_url.rstrip('/')}/api/v1/gates/{gate_id}"
        self.timeout = timeout
        # False once central answered `report` with 404/405 (a central from before it):
        # heartbeats and proof of play then go as two requests.
        self.combined = combined
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": f"gatecast/{__version__}"}
        # The sync process's kept connection (kiosk.sync.link): a Reporter is made
        # per report and per long poll, its connection is not.
        self.link = Link.of(pool)

    def _request(self, method, path, body=None, headers=None, timeout=None):
        try:
            resp = self.link.request(
                method, f"{self.base}/{path}", body=body,
                headers={**self.headers, **(headers or {})},
                timeout=urllib3.Timeout(connect=self.timeout, read=timeout or self.timeout),
                redirect=False,
            )
        except urllib3.exceptions.ReadTimeoutError:
            if path.startswith("wait?"):
                raise _LongPollCut() from None
            raise Offline(f"{method} {path}: no answer in time") from None
        except urllib3.exceptions.HTTPError as e:
            raise Offline(f"{method} {path}: {e}") from None
        if resp.status == 401:
            raise Unauthorised("central refused the gate token (401)")
        if resp.status >= 500:
            raise Offline(f"{method} {path}: HTTP {resp.status}")
        return resp

    def post_json(self, path: str, obj) -> int:
        body = _json_text(obj).encode()
        return self._request("POST", path, body, {"Content-Type": "application/json"}).status

    def wait(self, version: int, timeout: float, position: dict | None = None) -> int | None:
        """Long-poll: the new release version, or None when `timeout` passed unchanged.

        Two servers answer it. The application itself (no nginx) holds the request
        until the gate's version differs from `version`, then answers 200
        {"version": N}, or 204 after `timeout`. In production nginx's nchan module
        holds it on the gate's channel: it answers the channel's last message at
        once, then, asked again with that message's Etag/Last-Modified (kept in
        `position`, which the caller keeps between calls), the next one; 408 after
        its own timeout. A message not newer than `version` (already pulled) is
        None. Either server may hold longer than `timeout`: the gate then hangs up,
        which is no news too."""
        headers = {}
        if position:
            if position.get("etag"):
                headers["If-None-Match"] = position["etag"]
            if position.get("last_modified"):
                headers["If-Modified-Since"] = position["last_modified"]
        try:
            resp = self._request("GET", f"wait?version={int(version)}&timeout={int(timeout)}",
                                 headers=headers, timeout=timeout + WAIT_GRACE_S)
        except _LongPollCut:
            return None
        if resp.status in (204, 304, 408):
            return None
        if resp.status == 404:
            raise NotSupported("central has no change notification")
        if resp.status == 403:
            raise Unauthorised("central's change feed refused the gate token (403)")
        if resp.status != 200:
            raise Offline(f"wait: HTTP {resp.status}")
        try:
            announced = int(json.loads(resp.data)["version"])
        except (ValueError, KeyError, TypeError):
            raise Offline("wait: central's answer is not {\"version\": N}") from None
        if resp.headers.get("Etag") and position is not None:
            position["etag"] = resp.headers["Etag"]
            position["last_modified"] = resp.headers.get("Last-Modified")
            if announced <= version:
                return None  # the channel's last message, already pulled: wait for the next
        return announced

    # ---- flushing the queue ----------------------------------------------------

    def flush(self, db, state_dir: Path) -> FlushResult:
        result = FlushResult()
        try:
            if self.combined:
                self._flush_reports(db, result)
            if not self.combined:
                self._flush_plays(db, result)
                self._flush_heartbeats(db, result)
            self._flush_screenshots(db, Path(state_dir), result)
        except Offline as e:
            result.error, result.code = str(e), "offline"
        except Unauthorised as e:
            result.error, result.code = str(e), "unauthorised"
        return result

    # ---- one request a minute: the heartbeat carries the proof of play ---------------

    def _flush_reports(self, db, result: FlushResult) -> None:
        installation = installation_id(db)
        beats = 0
        while True:
            beat = None
            if beats < HEARTBEATS_PER_FLUSH:
                beat = db.execute("SELECT id, body FROM sync_outbox WHERE kind = 'heartbeat' "
                                  "ORDER BY id LIMIT 1").fetchone()
            rows, texts = self._next_plays(db, installation)
            if beat is None and not rows:
                return
            beats += beat is not None
            if not self._send_report(db, beat, rows, texts, result):
                return  # central has no `report`: the caller sends the two kinds apart

    def _next_plays(self, db, installation: str) -> tuple[list[dict], list[str]]:
        """The oldest unsent rows, as many as one request carries, and their JSON."""
        rows, texts, size = [], [], 0
        for r in db.query(
                f"SELECT {', '.join(PLAY_FIELDS)} FROM proof_of_play WHERE sent_at IS NULL "
                "AND outcome != 'playing' AND id NOT IN (SELECT play_id FROM sync_rejected_play) "
                "ORDER BY id LIMIT ?", [PLAY_BATCH]):
            row = {**r, "installation": installation}
            text = _json_text(row)
            size += len(text) + 1
            if rows and size > PLAY_BYTES:
                break
            rows.append(row)
            texts.append(text)
        return rows, texts

    def _send_report(self, db, beat, rows: list[dict], texts: list[str],
                     result: FlushResult) -> bool:
        """One report; False when central has no `report` (nothing was stored)."""
        parts = []
        if beat is not None:
            parts.append('"heartbeat":' + beat[1])
        if rows:
            parts.append('"proof_of_play":{"batch_id":"%s","rows":[%s]}'
                         % (uuid.uuid4(), ",".join(texts)))
        resp = self._request("POST", "report", ("{" + ",".join(parts) + "}").encode(),
                             {"Content-Type": "application/json"})
        result.requests += 1
        if resp.status in (404, 405):
            self.combined = False
            return False
        try:
            answer = json.loads(resp.data or b"{}")
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not any(
                isinstance(answer.get(k), dict) for k in ("heartbeat", "proof_of_play")):
            if resp.status < 400:  # not central's answer (a portal, a proxy): keep it all
                raise Offline(f"POST report: HTTP {resp.status} without an answer per part")
            # Refused as a whole (too large, or malformed) with no answer per part:
            # each part goes on its own, where a refusal names what it refuses.
            if beat is not None:
                self._send_heartbeat(db, beat, result)
            if rows:
                self._send_plays(db, rows, result)
            return True
        unstored = []
        if beat is not None:
            said = answer.get("heartbeat")
            status = _part_status(said, "ok")
            if status >= 500:
                unstored.append("heartbeat")
            else:
                self._heartbeat_done(db, beat[0], status, said, result)
        if rows:
            said = answer.get("proof_of_play")
            status = _part_status(said, "received")
            if status >= 500:
                unstored.append("proof of play")
            elif status < 300:
                self._plays_done(db, rows, result)
            else:
                self._plays_refused(db, rows, status, result)
        if unstored:
            raise Offline(f"POST report: central could not store the {' and the '.join(unstored)}")
        return True

    # ---- the two requests of older centrals (and a refused report's parts) ---------

    def _flush_plays(self, db, result: FlushResult) -> None:
        # Central keys a row on (gate, installation, row id): row ids start again at 1
        # on a reinstalled gate, the installation id does not repeat.
        installation = installation_id(db)
        while True:
            rows, _ = self._next_plays(db, installation)
            if not rows:
                return
            self._send_plays(db, rows, result)

    def _send_plays(self, db, rows, result: FlushResult) -> None:
        status = self.post_json("proof-of-play", {"batch_id": str(uuid.uuid4()), "rows": rows})
        result.requests += 1
        if 200 <= status < 300:
            self._plays_done(db, rows, result)
        else:
            self._plays_refused(db, rows, status, result)

    def _plays_done(self, db, rows, result: FlushResult) -> None:
        """Central acknowledged these rows: the gate forgets them (after retention)."""
        db.execute(
            f"UPDATE proof_of_play SET sent_at = ? WHERE id IN ({','.join('?' * len(rows))})",
            [iso(utcnow()), *[r["id"] for r in rows]],
        )
        result.sent["proof_of_play"] += len(rows)

    def _plays_refused(self, db, rows, status: int, result: FlushResult) -> None:
        """Central refused a batch as malformed: halve it until the refused rows are
        found, and set those aside."""
        if len(rows) > 1:
            half = len(rows) // 2
            self._send_plays(db, rows[:half], result)
            self._send_plays(db, rows[half:], result)
            return
        db["sync_rejected_play"].insert(
            {"play_id": rows[0]["id"], "at": iso(utcnow()), "status": status,
             "reason": f"central answered HTTP {status}"}, replace=True)
        log_event(db, "sync", "error", "play_rejected",
                  f"central refused proof-of-play row {rows[0]['id']} (HTTP {status}); "
                  "it stays in the gate's database", detail={"row": rows[0], "status": status})

    def _flush_heartbeats(self, db, result: FlushResult) -> None:
        for beat in db.execute(
            "SELECT id, body FROM sync_outbox WHERE kind = 'heartbeat' ORDER BY id LIMIT ?",
            [HEARTBEATS_PER_FLUSH],
        ).fetchall():
            self._send_heartbeat(db, beat, result)

    def _send_heartbeat(self, db, beat, result: FlushResult) -> None:
        resp = self._request("POST", "heartbeat", beat[1].encode(),
                             {"Content-Type": "application/json"})
        result.requests += 1
        try:
            answer = json.loads(resp.data or b"{}")
        except ValueError:
            answer = None
        self._heartbeat_done(db, beat[0], resp.status, answer, result)

    def _heartbeat_done(self, db, item_id: int, status: int, answer, result: FlushResult) -> None:
        """Central stored (2xx) or refused (4xx) a queued heartbeat: it leaves the queue."""
        db.execute("DELETE FROM sync_outbox WHERE id = ?", [item_id])
        if 200 <= status < 300:
            result.sent["heartbeats"] += 1
            result.published_version = _published_version(answer) or result.published_version
        else:
            result.dropped += 1
            log_event(db, "sync", "error", "heartbeat_rejected",
                      f"central refused a queued heartbeat (HTTP {status}); dropped",
                      detail={"status": status})

    def _flush_screenshots(self, db, state_dir: Path, result: FlushResult) -> None:
        out = outbox_dir(state_dir)
        for item_id, face_id, path, created_at in db.execute(
            "SELECT id, face_id, path, created_at FROM sync_outbox WHERE kind = 'screenshot' "
            "ORDER BY id LIMIT ?", [SCREENSHOTS_PER_FLUSH],
        ).fetchall():
            try:
                data = (out / path).read_bytes()
            except OSError:
                remove_item(db, out, item_id, path)
                continue
            ctype = "image/png" if path.endswith(".png") else "image/jpeg"
            status = self._request("POST", f"screenshots/{face_id}", data,
                                   {"Content-Type": ctype, "X-Taken-At": created_at}).status
            remove_item(db, out, item_id, path)
            if 200 <= status < 300:
                result.sent["screenshots"] += 1
            else:
                result.dropped += 1
                log_event(db, "sync", "warning", "screenshot_rejected",
                          f"central refused a screenshot of face {face_id} (HTTP {status}); dropped",
                          detail={"face": face_id, "status": status})


def _published_version(answer) -> int | None:
    value = answer.get("published_version") if isinstance(answer, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _part_status(said, acknowledged: str) -> int:
    """The status of one part of a report's answer: its own `status` when central
    says one (a refusal, or a part it could not store), 200 when the answer
    acknowledges the part (carries `acknowledged`), else 500: not stored, send it
    again (the gate forgets nothing central did not acknowledge)."""
    if not isinstance(said, dict):
        return 500
    status = said.get("status")
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    return 200 if acknowledged in said and "error" not in said else 500


def _json_text(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
