"""Sending alert messages: the `alert_delivery` outbox, emptied by email (SMTP,
smtplib) and webhook (a JSON POST, urllib3), retried with a growing pause.

A message is marked sent in its own transaction right after the server accepted it,
so a failure never loses one. The only duplicate possible is a crash between the
server's acceptance and that commit; each email carries a Message-ID and each webhook
a `delivery_id` (also as Idempotency-Key) that name the delivery, so a receiver can
tell. Messages of one subscriber go in order: after one fails, that subscriber's
later ones wait for the next tick.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import urllib3
from sqlalchemy import select, update

from kiosk import __version__
from kiosk.store import iso, parse_iso, utcnow

from central import schema as t
from central.alert_messages import Message, compose
from central.db import rows, transaction

log = logging.getLogger("gatecast.central.alerts")

FIRST_RETRY_S = 15.0
BATCH = 200


class DeliveryError(Exception):
    """The message was not accepted; it stays queued. `server_down`: the SMTP server
    itself could not be used, so every email waits for the next tick."""

    def __init__(self, message: str, server_down: bool = False):
        super().__init__(message)
        self.server_down = server_down


class Sender:
    """Sends one message to one subscriber, by email or webhook, per the settings."""

    def __init__(self, settings):
        self.settings = settings
        self.timeout = settings["central_alert_timeout_s"]
        self.pool = urllib3.PoolManager(retries=False)

    def send(self, channel: str, address: str, message: Message, delivery_id: int) -> None:
        if channel == "email":
            self.email(address, message, delivery_id)
        else:
            self.webhook(address, message, delivery_id)

    def email(self, address: str, message: Message, delivery_id: int) -> None:
        s = self.settings
        if not s["central_smtp_host"]:
            raise DeliveryError("no SMTP server is set (central_smtp_host)", server_down=True)
        msg = EmailMessage()
        msg["From"] = s["central_smtp_from"]
        msg["To"] = address
        msg["Subject"] = message.subject
        msg["Date"] = formatdate(localtime=False)
        sender_domain = s["central_smtp_from"].rpartition("@")[2] or "gatecast"
        msg["Message-ID"] = make_msgid(f"alert-delivery-{delivery_id}", domain=sender_domain)
        msg.set_content(message.text)
        try:
            with smtplib.SMTP(s["central_smtp_host"], s["central_smtp_port"],
                              timeout=self.timeout) as smtp:
                if s["central_smtp_starttls"]:
                    smtp.starttls(context=ssl.create_default_context(
                        cafile=s["central_smtp_ca_file"] or None))
                if s["central_smtp_user"]:
                    smtp.login(s["central_smtp_user"], self._password())
                refused = smtp.send_message(msg)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as e:
            raise DeliveryError(f"SMTP {s['central_smtp_host']}:{s['central_smtp_port']}: {e}") from None
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryError(f"SMTP {s['central_smtp_host']}:{s['central_smtp_port']}: {e}",
                                server_down=True) from None
        if refused:
            raise DeliveryError(f"the SMTP server refused {address}: {refused}")

    def _password(self) -> str:
        path = self.settings["central_smtp_password_file"]
        if not path:
            raise DeliveryError("central_smtp_user is set but central_smtp_password_file is not",
                                server_down=True)
        try:
            return Path(path).read_text().strip()
        except OSError as e:
            raise DeliveryError(f"SMTP password file {path}: {e.strerror}", server_down=True) from None

    def webhook(self, url: str, message: Message, delivery_id: int) -> None:
        body = json.dumps(message.payload, ensure_ascii=False).encode()
        try:
            resp = self.pool.request(
                "POST", url, body=body, redirect=False,
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                headers={"Content-Type": "application/json; charset=utf-8",
                         "Idempotency-Key": f"gatecast-alert-delivery-{delivery_id}",
                         "User-Agent": f"gatecast/{__version__}"})
        except urllib3.exceptions.HTTPError as e:
            raise DeliveryError(f"webhook {url}: {e}") from None
        if not 200 <= resp.status < 300:
            raise DeliveryError(f"webhook {url}: HTTP {resp.status}")


def _due(conn, now: datetime) -> list[dict]:
    d, s, a, g = (t.alert_delivery.c, t.alert_subscription.c, t.alert.c, t.gate.c)
    return rows(conn.execute(
        select(d.id, d.event, d.attempts, d.queued_at, d.subscription_id, s.channel, s.address,
               a.id.label("alert_id"), a.gate_id, a.kind, a.face_id, a.severity, a.state,
               a.opened_at, a.resolved_at, a.detail, a.acknowledged_by, a.acknowledged_at,
               g.name.label("gate_name"))
        .join(t.alert_subscription, s.id == d.subscription_id)
        .join(t.alert, a.id == d.alert_id).join(t.gate, g.id == a.gate_id)
        .where(d.state == "pending", d.next_attempt_at <= iso(now))
        .order_by(d.id).limit(BATCH)))


def retry_pause(attempts: int, settings) -> float:
    """After `attempts` failed attempts: 15 s, 30 s, 60 s ... up to the setting."""
    return min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), settings["central_alert_retry_max_s"])


def deliver_due(db, settings, sender: Sender, now: datetime | None = None) -> dict[str, int]:
    """Send every message that is due; returns counts of sent, retried and failed."""
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with transaction(db) as conn:
        due = _due(conn, now)
    stalled: set = set()  # subscription ids, and "email" when the SMTP server is down
    give_up = timedelta(hours=settings["central_alert_give_up_h"])
    for item in due:
        if item["subscription_id"] in stalled or item["channel"] in stalled:
            continue
        alert = {**item, "id": item["alert_id"], "detail": json.loads(item["detail"] or "{}")}
        message = compose(alert, item["gate_name"], item["event"], item["id"],
                          settings["central_timezone"], settings["central_console_url"])
        d = t.alert_delivery.c
        try:
            sender.send(item["channel"], item["address"], message, item["id"])
        except DeliveryError as e:
            stalled.add(item["subscription_id"])
            if e.server_down:
                stalled.add(item["channel"])  # one dead SMTP server is not retried per message
            attempts = item["attempts"] + 1
            late = now - parse_iso(item["queued_at"]) >= give_up
            log.warning("alert message %s to %s not delivered (attempt %s): %s",
                        item["id"], item["address"], attempts, e)
            with transaction(db, write=True) as conn:
                conn.execute(update(t.alert_delivery).where(d.id == item["id"]).values(
                    attempts=attempts, last_error=str(e)[:500],
                    state="failed" if late else "pending",
                    next_attempt_at=iso(now + timedelta(seconds=retry_pause(attempts, settings)))))
            counts["failed" if late else "retry"] += 1
            continue
        with transaction(db, write=True) as conn:
            conn.execute(update(t.alert_delivery).where(d.id == item["id"]).values(
                state="sent", sent_at=iso(now), attempts=item["attempts"] + 1,
                last_error=None))
        counts["sent"] += 1
    return counts
