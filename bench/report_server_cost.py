"""What the HTTP server itself costs per gate report, with no store in it: the
same POST report (a known gate, its good token, a body central refuses with 400,
so nothing is written) sent on kept-alive connections, as nginx's upstream
keepalive sends them, straight to `gatecast central serve` (gunicorn gthread, the
central role's 2 workers x 64 threads) and to `gatecast central serve-reports`
(uvicorn + httptools + uvloop: the token checked on its event loop, the same
central.gate_reports rules run in its writer process, central.report_writer; both
processes' CPU counted). Prints each server's CPU per request; the last line is
`report_server_cpu_ms: X`, the report server's.

    .venv/bin/python bench/report_server_cost.py [--requests 10000] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import central_config, served_central, served_reports  # noqa: E402
from tests.support.nginx import cpu_seconds  # noqa: E402

from central.app import repository_for  # noqa: E402
from central.db import open_central_db  # noqa: E402
from central.fleet import add_gate  # noqa: E402
from central.settings import load_central_settings  # noqa: E402

BODY = b"{}"  # a report with neither part: refused (400) after the token and JSON checks


async def connection(port: int, request: bytes, n: int, statuses: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(n):
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        statuses[head[9:12]] = statuses.get(head[9:12], 0) + 1
        length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        await reader.readexactly(int(length[0].split(b":")[1]))
    writer.close()


async def load(port: int, request: bytes, total: int, connections: int) -> dict:
    statuses: dict = {}
    await asyncio.gather(*(connection(port, request, total // connections, statuses)
                           for _ in range(connections)))
    return statuses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    import uvloop

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        state = tmp / "central"
        config = central_config(tmp / "central.toml")
        settings = load_central_settings(config_file=config, state_dir=state, env={})
        repository_for(settings).init()
        db = open_central_db(settings)
        with db.transaction(write=True) as conn:
            token = add_gate(conn, "gate-1", "Gate 1", "Lạng Sơn", [1, 2])
        db.close()
        request = (f"POST /api/v1/gates/gate-1/report HTTP/1.1\r\nHost: central\r\n"
                   f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY
        with served_central(state, tmp / "serve.log", 2, 64, config=config) as app_url, \
                served_reports(state, tmp / "reports.log", 64, config=config) as reports_url:
            cost = 0.0
            for name, url, marker in (
                    ("gunicorn gthread 2 x 64 (gatecast central serve)", app_url,
                     f"central\0serve\0--state\0{state}"),
                    ("uvicorn (gatecast central serve-reports)", reports_url,
                     f"serve-reports\0--state\0{state}")):
                port = int(url.rsplit(":", 1)[1])
                uvloop.run(load(port, request, args.connections * 20, args.connections))  # warm
                cpu, t0 = cpu_seconds(marker), time.perf_counter()
                statuses = uvloop.run(load(port, request, args.requests, args.connections))
                wall, cpu = time.perf_counter() - t0, cpu_seconds(marker) - cpu
                sent = sum(statuses.values())
                cost = 1000 * cpu / sent
                print(f"{name}: {sent} requests {dict((k.decode(), v) for k, v in statuses.items())}"
                      f" in {wall:.1f} s, server CPU {cost:.3f} ms per request")
    print(f"report_server_cpu_ms: {cost:.3f}")


if __name__ == "__main__":
    main()
