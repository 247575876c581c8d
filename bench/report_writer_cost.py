"""The report server's writer process alone (central.report_writer, as `gatecast
central serve-reports` forks it), fed combined reports at fixed rates: how long a
report waits for its answer, how much of a core the writer uses, and what it costs
per report, with no HTTP, nginx or load generator around it. The writer's term of
bench/central_intake.py, measurable while others use the machine: the writer is
the report server's serial part (a batch's checks, its statements and commit, the
answers), so its latency at a rate is what queues there.

Each gate sends one report a minute as bench/central_intake.py's gates do (a
~1.5 KB heartbeat + 12 proof-of-play rows), every report from a gate not in
flight; the bodies are made before the clock starts, and sent over the writer's
socket pair by this process's event loop (uvloop), as the report server's loop
sends them.

    .venv/bin/python bench/report_writer_cost.py [--store postgresql|sqlite]
        [--rates 400,833,1200] [--seconds 20] [--gates 4000]

--store postgresql (the default) starts a throwaway durable cluster (Debian's
package, tests.support.postgres). Prints one line per rate; the last line is
`report_writer_p99_ms: X` at 833 reports a second (10,000 gates x5), or at the
last rate when 833 is not among them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report_store_cost import Fleet  # noqa: E402
from tests.support.central import central_config  # noqa: E402
from tests.support.nginx import cpu_seconds  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402

from central.app import repository_for  # noqa: E402
from central.db import open_central_db  # noqa: E402
from central.fleet import add_gate  # noqa: E402
from central.report_server import writer_reports  # noqa: E402
from central.report_writer import start_writer  # noqa: E402
from central.settings import load_central_settings  # noqa: E402


def cpu_of(pid: int) -> float:
    """User+system CPU seconds of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def at_rate(writer, bodies: list[tuple[str, bytes]], rate: float) -> list[float]:
    """Send `bodies` at `rate` a second (in 5 ms steps); the seconds each waited."""
    latencies, tasks = [], []

    async def one(gate_id: str, body: bytes) -> None:
        t0 = time.perf_counter()
        status, _, answer = await writer.answer(gate_id, "report", "application/json",
                                                len(body), body)
        if status != 200:
            raise RuntimeError(f"{gate_id}: {status} {answer[:200]!r}")
        latencies.append(time.perf_counter() - t0)

    start, sent = time.perf_counter(), 0
    while sent < len(bodies):
        due = min(len(bodies), int((time.perf_counter() - start) * rate) + 1)
        for gate_id, body in bodies[sent:due]:
            tasks.append(asyncio.ensure_future(one(gate_id, body)))
        sent = due
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--rates", default="400,833,1200", help="reports a second, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured per rate")
    ap.add_argument("--gates", type=int, default=4000)
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    import uvloop

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder = None
        if args.store == "postgresql":
            cluster = PostgresCluster(durable=True)
            stack.callback(cluster.stop)
            cluster.start()
            url, folder = cluster.url(cluster.create_database()), str(cluster.dir)
        else:
            url = f"sqlite:///{tmp}/central.db"
        config = central_config(tmp / "central.toml", central_database_url=url)
        settings = load_central_settings(config_file=config, state_dir=tmp / "central", env={})
        repository_for(settings).init()
        db = open_central_db(settings)
        fleet = Fleet(args.gates)
        with db.transaction(write=True) as conn:
            for gate_id in fleet.ids:
                add_gate(conn, gate_id, gate_id, "Lạng Sơn", [1, 2])
        db.close()

        def bodies(n: int) -> list[tuple[str, bytes]]:
            out = []
            for batch in fleet.batches(1, n):
                for gate_id, report, _received in batch:
                    out.append((gate_id, json.dumps(report).encode()))
            return out

        writer = start_writer(lambda: writer_reports(settings))
        # The client stops its own process when the writer goes (as the report
        # server must); here the writer goes because the bench ends.
        signal.signal(signal.SIGTERM, lambda *_: None)
        results = {}

        async def run() -> None:
            await writer.connect()
            await at_rate(writer, bodies(min(args.gates, 500)), 200)  # warm: every gate known
            await at_rate(writer, bodies(args.gates - min(args.gates, 500)), 1000)
            for rate in rates:
                sent = bodies(int(rate * args.seconds))
                load0 = os.getloadavg()[0]
                cpu, pg, t0 = cpu_of(writer.pid), cpu_seconds(folder) if folder else 0.0, \
                    time.perf_counter()
                latencies = await at_rate(writer, sent, rate)
                wall = time.perf_counter() - t0
                cpu = cpu_of(writer.pid) - cpu
                pg = (cpu_seconds(folder) - pg) if folder else 0.0
                q = statistics.quantiles(latencies, n=100, method="inclusive")
                results[rate] = q[98] * 1000
                print(f"{rate:6.0f}/s: {len(latencies)} reports in {wall:.1f} s "
                      f"({len(latencies) / wall:.0f}/s); answer ms p50 {q[49] * 1000:.1f} "
                      f"p90 {q[89] * 1000:.1f} p99 {q[98] * 1000:.1f} max "
                      f"{max(latencies) * 1000:.1f}; writer process {cpu / wall:.2f} of a "
                      f"core, {1000 * cpu / len(latencies):.3f} ms CPU per report"
                      + (f"; PostgreSQL {1000 * pg / len(latencies):.3f} ms CPU per report"
                         if folder else "")
                      + f"; load {load0:.1f} / {os.getloadavg()[0]:.1f}", flush=True)

        uvloop.run(run())
        writer.sock.close()
        os.waitpid(writer.pid, 0)
    rate = 833.0 if 833.0 in results else rates[-1]
    print(f"report_writer_p99_ms: {results[rate]:.1f}")


if __name__ == "__main__":
    main()
