"""Real receivers for alert messages: an SMTP server (aiosmtpd) and an HTTP
webhook receiver, both on 127.0.0.1, recording what they accepted (with the
time they accepted it, for bench/alert_latency.py)."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A port below the kernel's ephemeral range: a heavy bench's connects never take it.
from tests.support.nginx import free_port


@dataclass
class Accepted:
    at: float  # time.time() when accepted
    message: object  # email.message.EmailMessage or the webhook's JSON


class SmtpServer:
    """aiosmtpd on 127.0.0.1. `tls_dir`: STARTTLS required, with a self-signed
    certificate made there (admin.tls.generate; `ca_file` is it); `login=(user,
    password)`: AUTH required too, after STARTTLS."""

    def __init__(self, login: tuple[str, str] | None = None, tls_dir=None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[Accepted] = []
        self.logins: list[str] = []
        server = self

        class Handler:
            async def handle_DATA(self, srv, session, envelope):
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                server.messages.append(Accepted(time.time(), msg))
                return "250 Message accepted for delivery"

        def authenticator(srv, session, envelope, mechanism, auth_data):
            ok = login is not None and (auth_data.login.decode(), auth_data.password.decode()) == login
            if ok:
                server.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        self.port = free_port()
        self.ca_file = None
        kwargs = {}
        if tls_dir is not None:
            import ssl
            from pathlib import Path

            from admin.tls import generate

            cert, key = Path(tls_dir) / "smtp.crt", Path(tls_dir) / "smtp.key"
            if not cert.exists():
                generate(cert, key, "gatecast test SMTP", "localhost")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            kwargs.update(tls_context=context, require_starttls=True)
            self.ca_file = str(cert)
        if login is not None:
            kwargs.update(authenticator=authenticator, auth_required=True)
        # aiosmtpd logs a deprecation of its own internals at every login.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def settings(self) -> dict:
        return {"central_smtp_host": "127.0.0.1", "central_smtp_port": self.port,
                "central_smtp_starttls": self.ca_file is not None,
                "central_smtp_ca_file": self.ca_file or "",
                "central_smtp_from": "canhbao@gatecast.test"}

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class WebhookReceiver:
    """An HTTP server taking JSON POSTs; answers `fail_next` requests with 500 first."""

    fail_next: int = 0
    received: list[Accepted] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self):
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    fail = receiver.fail_next > 0
                    if fail:
                        receiver.fail_next -= 1
                        receiver.refused += 1
                    else:
                        receiver.received.append(Accepted(time.time(), {
                            "json": json.loads(body), "headers": dict(self.headers)}))
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def seed_alerts(central) -> None:
    """A week's worth of alerts on a province's console (for the page tests): an
    offline gate, a hot one acknowledged by an operator, a dark face, one resolved,
    and subscriptions with long addresses. Gates huu-nghi and tan-thanh must exist,
    and user tran-van-an-van-hanh (operator)."""
    from datetime import timedelta

    from kiosk.store import iso, utcnow

    from central.alerts import acknowledge, add_subscription, list_alerts, tick
    from central.intake import record_heartbeat

    s, db = central.settings, central.db
    add_subscription(db, "email", "phong-ky-thuat-cong-nghe-thong-tin@stttt.langson.gov.vn",
                     "lang-son", "warning", by="chi")
    add_subscription(db, "webhook", "https://chat.langson.gov.vn/hooks/cua-khau-canh-bao-"
                     "7f3a9c1e2b4d6f8a0c1e3b5d7f9a1c3e", None, "critical", by="chi")
    t0 = utcnow() - timedelta(hours=3)

    def beat(**health):
        faces = health.pop("faces", [{"face_id": 1, "power": "on", "blanked": 0,
                                       "playing_sha256": "a" * 64}])
        return {"sent_at": iso(t0), "release_version": None, "last_good_release_version": None,
                "sync": {"status": "unchanged"}, "faces": faces, "errors": [],
                "health": {"cpu_temp_c": 55.0, "disk": {"free_mb": 9000.0},
                           "clock_synced": True, **health}}

    record_heartbeat(db, "huu-nghi", beat(cpu_temp_c=84.2, disk={"free_mb": 310.0}), now=t0)
    record_heartbeat(db, "tan-thanh", beat(), now=t0)
    # Tân Thanh stops reporting; Hữu Nghị is hot and short of disk.
    tick(db, s, now=t0)
    record_heartbeat(db, "huu-nghi", beat(cpu_temp_c=84.2, disk={"free_mb": 310.0}),
                     now=t0 + timedelta(minutes=10))
    tick(db, s, now=t0 + timedelta(minutes=10))
    # Hữu Nghị's clock was unsynchronised for a while, then fixed: resolved.
    record_heartbeat(db, "huu-nghi", beat(cpu_temp_c=84.2, clock_synced=False,
                                          disk={"free_mb": 310.0}), now=t0 + timedelta(minutes=20))
    tick(db, s, now=t0 + timedelta(minutes=20))
    for minutes in (30, 40):
        record_heartbeat(db, "huu-nghi", beat(cpu_temp_c=84.2, disk={"free_mb": 310.0}),
                         now=t0 + timedelta(minutes=minutes))
        tick(db, s, now=t0 + timedelta(minutes=minutes))
    hot = next(a for a in list_alerts(db) if a["kind"] == "temperature")
    acknowledge(db, hot["id"], "tran-van-an-van-hanh")
