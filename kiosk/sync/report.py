"""Reports to central (docs/sync-protocol.md, "Reports") and the change notification.

`flush()` empties the upstream queue while the link holds: proof of play first (the
Circular's reporting depends on it), then heartbeats oldest first, then screenshots.
A 5xx or a network error stops the flush and everything stays queued; a 401 stops
it and says the token is wrong; any other 4xx means central refuses that item as
malformed: heartbeats and screenshots are dropped and logged, a proof-of-play batch
is split until the refused rows are found, which are set aside (never deleted).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import urllib3

from kiosk import __version__
from kiosk.store import iso, log_event, utcnow
from kiosk.sync.outbox import outbox_dir, remove_item
from kiosk.sync.schema import installation_id

PLAY_BATCH = 500
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
    # Central's answer to a heartbeat names the gate's current release version: a
    # second way (besides the long-poll) to learn that there is something to pull.
    published_version: int | None = None


class Reporter:
    def __init__(self, central_url: str, gate_id: str, token: str, timeout: float = 30.0,
                 pool: urllib3.PoolManager | None = None):
        self.base = f"{central_url.rstrip('/')}/api/v1/gates/{gate_id}"
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": f"gatecast/{__version__}"}
        self.pool = pool or urllib3.PoolManager(retries=False)

    def _request(self, method, path, body=None, headers=None, timeout=None):
        try:
            resp = self.pool.request(
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
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
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
            self._flush_plays(db, result)
            self._flush_heartbeats(db, result)
            self._flush_screenshots(db, Path(state_dir), result)
        except Offline as e:
            result.error, result.code = str(e), "offline"
        except Unauthorised as e:
            result.error, result.code = str(e), "unauthorised"
        return result

    def _flush_plays(self, db, result: FlushResult) -> None:
        # Central keys a row on (gate, installation, row id): row ids start again at 1
        # on a reinstalled gate, the installation id does not repeat.
        installation = installation_id(db)
        while True:
            rows = list(db.query(
                f"SELECT {', '.join(PLAY_FIELDS)} FROM proof_of_play WHERE sent_at IS NULL "
                "AND outcome != 'playing' AND id NOT IN (SELECT play_id FROM sync_rejected_play) "
                "ORDER BY id LIMIT ?", [PLAY_BATCH]))
            if not rows:
                return
            self._send_plays(db, [{**r, "installation": installation} for r in rows], result)

    def _send_plays(self, db, rows, result: FlushResult) -> None:
        status = self.post_json("proof-of-play", {"batch_id": str(uuid.uuid4()), "rows": rows})
        if 200 <= status < 300:
            now = iso(utcnow())
            db.execute(
                f"UPDATE proof_of_play SET sent_at = ? WHERE id IN ({','.join('?' * len(rows))})",
                [now, *[r["id"] for r in rows]],
            )
            result.sent["proof_of_play"] += len(rows)
            return
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
        for item_id, body in db.execute(
            "SELECT id, body FROM sync_outbox WHERE kind = 'heartbeat' ORDER BY id LIMIT ?",
            [HEARTBEATS_PER_FLUSH],
        ).fetchall():
            resp = self._request("POST", "heartbeat", body.encode(),
                                 {"Content-Type": "application/json"})
            status = resp.status
            db.execute("DELETE FROM sync_outbox WHERE id = ?", [item_id])
            if 200 <= status < 300:
                result.sent["heartbeats"] += 1
                result.published_version = _published_version(resp) or result.published_version
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


def _published_version(resp) -> int | None:
    try:
        value = json.loads(resp.data or b"{}").get("published_version")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
