"""What TLS costs nginx per gate request: the production site (deploy/nginx) on
127.0.0.1 serves a repository file (timestamp.json, 1.5 KB) to requests sent one
after the other, each on a NEW connection (the gate before wave 2 session 6: a
new urllib3 pool, so a whole TLS handshake, for every report and every long
poll) and on KEPT connections (kiosk/sync/link.py), over TLS and over plain
HTTP. Prints nginx's CPU per request for each; the last line is
`nginx_tls_handshake_ms: X`, nginx's CPU for a new TLS connection beyond a
request on a kept one.

A static file keeps the application out of it: what is measured is nginx's TCP
and TLS work per connection and per request. The client (Python's ssl, one
connection at a time) is not counted.

    .venv/bin/python bench/nginx_tls_cost.py [--requests 3000] [--kept 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.nginx import HOSTNAME, cpu_seconds, render, running_nginx  # noqa: E402

FILE = "/tuf/metadata/timestamp.json"
BODY = b"{" + b" " * 1500 + b"}"
REQUEST = f"GET {FILE} HTTP/1.1\r\nHost: {HOSTNAME}\r\n\r\n".encode()


def read_answer(conn) -> None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += conn.recv(65536)
    head, body = buf.split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += conn.recv(65536)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"nginx answered {head[:40]!r}")


def measure(tls: bool, requests: int, kept: int) -> tuple[dict[str, float], str]:
    """nginx's CPU in ms per request, on new and on kept connections."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        metadata = tmp / "state" / "tuf" / "metadata"
        metadata.mkdir(parents=True)
        (metadata / "timestamp.json").write_bytes(BODY)
        ng = render(tmp / "nginx", [1], tmp / "state", tls=tls)  # no application asked
        marker = str(tmp / "nginx")
        ctx = ssl.create_default_context(cafile=str(ng.crt)) if tls else None

        def connect():
            raw = socket.create_connection(("127.0.0.1", ng.https), timeout=30)
            return ctx.wrap_socket(raw, server_hostname=HOSTNAME) if tls else raw

        with running_nginx(ng, FILE):
            negotiated = ""
            if tls:
                with connect() as conn:
                    negotiated = f"{conn.version()} {conn.cipher()[0]}"
            before = cpu_seconds(marker)
            for _ in range(requests):
                with connect() as conn:
                    conn.sendall(REQUEST)
                    read_answer(conn)
            new = cpu_seconds(marker) - before
            conns = [connect() for _ in range(kept)]
            before = cpu_seconds(marker)
            for i in range(requests):
                conns[i % kept].sendall(REQUEST)
                read_answer(conns[i % kept])
            on_kept = cpu_seconds(marker) - before
            for conn in conns:
                conn.close()
    return {"new": 1000 * new / requests, "kept": 1000 * on_kept / requests}, negotiated


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000, help="per kind of connection")
    ap.add_argument("--kept", type=int, default=20, help="kept connections taking turns")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    tls, negotiated = measure(True, args.requests, args.kept)
    plain, _ = measure(False, args.requests, args.kept)
    print(f"nginx (the site, 1 worker) CPU per request for a {len(BODY)}-byte file, "
          f"{args.requests} requests each; TLS: {negotiated}, the test's P-256 certificate")
    print(f"machine load average (1 min) before/after: {load:.1f} / {os.getloadavg()[0]:.1f}"
          " (includes the other jobs on this shared machine)")
    for name, figures in (("TLS", tls), ("plain HTTP", plain)):
        print(f"  {name}: a new connection per request {figures['new']:.3f} ms, "
              f"on {args.kept} kept connections {figures['kept']:.3f} ms")
    print(f"nginx_tls_handshake_ms: {tls['new'] - tls['kept']:.3f}")


if __name__ == "__main__":
    main()
