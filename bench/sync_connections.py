"""What one gate's `gatecast sync` costs on the wire and on its CPU in steady state:
connections (TCP + TLS handshakes) opened per hour, bytes per gate-minute and per
report, and the sync threads' CPU per report.

The production shape, time-compressed: the real central (its Flask app on
127.0.0.1) behind the real nginx site (deploy/nginx, TLS, nchan holding the long
poll), a release published, and the gate's real SyncService in this process
(its threads' CPU from their own CPU clocks, apart from central's). A counting TCP relay
between gate and nginx counts connections and every byte both ways (TLS records
and handshakes included). Every interval of the gate and of nginx is divided by
--compress: heartbeat 60 s, pull 300 s, long poll 55 s (nchan_subscriber_timeout
too), the site's keepalive_timeout (90 s) and nginx's keepalive_time (1 h), the
gate's IDLE_S (75 s).

    .venv/bin/python bench/sync_connections.py [--seconds 120] [--compress 10]
    .venv/bin/python bench/sync_connections.py --code /tmp/gate-before   # another kiosk/

`--code`: a folder holding another version's kiosk/ package (e.g. `git archive
main kiosk | tar -x -C /tmp/gate-before`), to measure it the same way.

The last line is `sync_connections_per_hour: X`.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CountingRelay:
    """TCP relay 127.0.0.1:<port> -> upstream, counting connections and bytes."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.connections = 0
        self.up = self.down = 0
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            upstream = socket.create_connection(self.upstream)
            for a, b, up in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(a, b, up), daemon=True).start()

    def _pump(self, src, dst, up):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                with self._lock:
                    if up:
                        self.up += len(data)
                    else:
                        self.down += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def counts(self):
        with self._lock:
            return self.connections, self.up, self.down

    def close(self):
        self._sock.close()


def thread_cpu_s(threads) -> float:
    """CPU seconds of these (live) threads of this process, to the nanosecond
    (/proc counts in 10 ms ticks, as much as a report costs)."""
    return sum(time.clock_gettime(time.pthread_getcpuclockid(t.ident))
               for t in threads if t.is_alive())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="measured, after --settle")
    ap.add_argument("--settle", type=float, default=15.0,
                    help="seconds of the gate's start (first pull, first connections) not measured")
    ap.add_argument("--compress", type=float, default=10.0)
    ap.add_argument("--code", help="a folder with another version's kiosk/ package")
    args = ap.parse_args()
    if args.code:
        sys.path.insert(0, str(Path(args.code).resolve()))
    sys.path.insert(1 if args.code else 0, str(ROOT))
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    import kiosk

    from tests.support.central import LiveServer, make_central
    from tests.support.media import make_image
    from tests.support.nginx import SITE, render, running_nginx
    from tests.support.sync.gate import Gate
    from tests.support.sync.tls import loopback_cert
    from tests.support.wait import wait_for

    k = args.compress
    print(f"kiosk from {Path(kiosk.__file__).parent}; time compressed x{k:g}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        site = SITE.read_text().replace("nchan_subscriber_timeout 55s;",
                                        f"nchan_subscriber_timeout {round(55 / k)}s;")
        # The site's keepalive_timeout (90 s; nginx's default 75 s when unset) and
        # nginx's keepalive_time (1 h), compressed too.
        # (the public server's, not the upstreams' own)
        public = site.index("ssl_protocols")
        found = re.compile(r"\n\s*keepalive_timeout (\d+)s;").search(site, public)
        idle = int(found.group(1)) if found else 75
        if found:
            site = site[:found.start()] + site[found.end():]
        site = site.replace("    server_tokens off;\n", "    server_tokens off;\n"
                            f"    keepalive_timeout {round(idle * 1000 / k)}ms;\n"
                            f"    keepalive_time {round(3600 / k)}s;\n", 1)
        (tmp / "site.conf").write_text(site)
        central = make_central(tmp / "central")
        server = LiveServer(central.settings)
        ng = render(tmp / "nginx", [server.server.server_port], central.state_dir,
                    site=tmp / "site.conf")
        crt = loopback_cert(ng.work)  # replaces the certificate render made
        os.environ["SSL_CERT_FILE"] = str(crt)
        token = central.gate("huu-nghi", faces=(1, 2))
        sha = central.media(make_image(tmp / "red.png"))
        central.show("huu-nghi", [sha])
        central.publish()
        with running_nginx(ng, "/healthz"):
            relay = CountingRelay(("127.0.0.1", ng.https))
            gate = Gate(tmp / "gate", f"https://127.0.0.1:{relay.port}",
                        central.repo.trusted_root_path.read_bytes(), gate_id="huu-nghi",
                        sync_interval_s=300 / k, sync_heartbeat_interval_s=60 / k,
                        sync_longpoll_s=round(55 / k), sync_screenshot_interval_s=0,
                        sync_http_timeout_s=30.0)
            gate.token_file.write_text(token + "\n")
            try:
                import kiosk.sync.link as link
                link.IDLE_S = 75 / k
            except ImportError:
                pass
            from kiosk.store import open_db
            from kiosk.sync.loop import SyncService

            db = open_db(gate.settings.db_path)
            svc = SyncService(gate.settings, db)
            outcomes: dict[str, int] = {}
            report = svc.report

            def counted_report(*a, **kw):
                result = report(*a, **kw)
                outcomes[result.code] = outcomes.get(result.code, 0) + 1
                return result

            svc.report = counted_report
            threads_before = set(threading.enumerate())
            runner = threading.Thread(target=svc.run, name="sync", daemon=True)
            runner.start()
            def sync_threads():
                return [t for t in threading.enumerate()
                        if t is runner or (t not in threads_before and t.name == "sync-feed")]

            beats = lambda: central.db.query("SELECT count(*) AS n FROM heartbeat")[0]["n"]  # noqa: E731
            wait_for(lambda: gate.release() is not None, 60, "the gate's first pull")
            time.sleep(args.settle)
            outcomes.clear()
            c0, up0, down0 = relay.counts()
            cpu0, beats0, t0 = thread_cpu_s(sync_threads()), beats(), time.monotonic()
            time.sleep(args.seconds)
            c1, up1, down1 = relay.counts()
            cpu1, beats1, t1 = thread_cpu_s(sync_threads()), beats(), time.monotonic()
            svc.stop.set()
            if hasattr(svc, "feed_link"):
                svc.feed_link.interrupt()
            runner.join(30)
            relay.close()
            db.close()
            gate.close()
        server.close()
        central.db.close()

    gate_minutes = (t1 - t0) * k / 60
    reports = beats1 - beats0
    opened = c1 - c0
    total = (up1 - up0) + (down1 - down0)
    print(f"measured {t1 - t0:.0f} s = {gate_minutes:.1f} gate-minutes: {reports} reports, "
          f"{opened} connections opened (TLS handshakes), {up1 - up0} bytes up, "
          f"{down1 - down0} bytes down")
    print(f"the gate's reports: {outcomes} (ok: central acknowledged everything sent)")
    print(f"per gate-minute: {total / gate_minutes:.0f} bytes; per report: "
          f"{total / max(reports, 1):.0f} bytes (all the sync's traffic: reports, long polls, pulls)")
    print(f"sync threads' CPU: {(cpu1 - cpu0) * 1000 / max(reports, 1):.2f} ms per report "
          f"({(cpu1 - cpu0) * 1000 / gate_minutes:.2f} ms per gate-minute; this machine, not a Pi)")
    print(f"sync_connections_per_hour: {opened / gate_minutes * 60:.1f}")


if __name__ == "__main__":
    main()
