"""What one gate report costs the application, in process (no HTTP server, no
nginx, no load generator): CPU and wall time per step of a gate's minute, sent
as one combined report (POST report: heartbeat + proof of play) and, as older
gates send it, as a heartbeat and a proof-of-play batch, through the Flask app
(test client) on the chosen store.
Where bench/central_intake.py says how a fleet's reports queue, this says
where one report's milliseconds go (token check, transaction, statements,
commit), so a change to the intake path can be judged on its own.

    .venv/bin/python bench/report_cost.py [--store sqlite|postgresql] [--n 300]
        [--setting central_gate_token_cache_s=0 ...]   # A/B a central setting

Prints a line per step; the last line is `central_report_cpu_ms: X` (CPU of
the application per gate-minute sent as one combined report, with --concurrency
requests at once sharing each commit as under a fleet; the line before it says
the same minute sent as two requests).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from central_intake import heartbeat_body, pop_body, sent_now  # noqa: E402
from tests.support.central import central_config  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402

from central.app import create_app, repository_for  # noqa: E402
from central.fleet import add_gate, get_gate  # noqa: E402
from central.gate_tokens import GoodTokens  # noqa: E402
from central.intake import record_heartbeat, record_proof_of_play, record_report  # noqa: E402
from central.settings import load_central_settings  # noqa: E402


def measure(label: str, fn, n: int) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        fn(i)
    cpu_ms = 1000 * (time.process_time() - cpu) / n
    print(f"{label:42s} CPU {cpu_ms:6.3f} ms   wall {1000 * (time.perf_counter() - wall) / n:7.3f} ms")
    return cpu_ms


def measure_concurrent(label: str, app, n: int, threads: int, path: str, body, headers) -> float:
    """n POSTs from `threads` clients at once; CPU of the process per request."""
    import threading

    def client(count):
        c = app.test_client()
        for _ in range(count):
            assert c.post(path, data=body(), headers=headers).status_code == 200

    workers = [threading.Thread(target=client, args=(n // threads,)) for _ in range(threads)]
    cpu, wall = time.process_time(), time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done = threads * (n // threads)
    cpu_ms = 1000 * (time.process_time() - cpu) / done
    print(f"{label:42s} CPU {cpu_ms:6.3f} ms   wall {1000 * (time.perf_counter() - wall) / done:7.3f} ms")
    return cpu_ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=32,
                    help="requests at once in the group-commit steps (a busy server's)")
    ap.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                    help="a central setting for this run (as in central.toml), e.g. "
                         "central_gate_token_cache_s=0 to compare without the token memory")
    args = ap.parse_args()
    chosen = {}
    for item in args.setting:
        name, _, value = item.partition("=")
        try:
            chosen[name] = json.loads(value)  # numbers and booleans as such
        except ValueError:
            chosen[name] = value
    with bench_database_url(args.store) as url, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = central_config(tmp / "central.toml",
                             **({"central_database_url": url} if url else {}), **chosen)
        settings = load_central_settings(config_file=cfg, state_dir=tmp / "state", env={})
        repository_for(settings).init()
        app = create_app(settings)
        store = app.extensions["central_store"]
        token = add_gate(store, "huu-nghi", "Hữu Nghị", "Lạng Sơn", [1, 2])
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        hb = heartbeat_body("huu-nghi", 1)
        n, base = args.n, [10**6]
        concurrent = []

        def pop(i):  # new rows each time, as a gate sends them
            base[0] += 100
            return pop_body(base[0])

        def report(i):  # a gate's minute in one request (as kiosk.sync.report builds it)
            return b'{"heartbeat":' + sent_now(hb) + b',"proof_of_play":' + pop(i) + b"}"

        def empty_write(_):
            with store.transaction(write=True):
                pass

        print(f"store: {args.store}; {n} of each; settings: {chosen or 'defaults'}; "
              f"this machine's load average: "
              f"{' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}")
        measure("Flask request (GET /healthz)", lambda _: client.get("/healthz"), n)
        measure("token check (get_gate, own transaction)", lambda _: get_gate(store, "huu-nghi"), n)
        memory = GoodTokens(60.0)
        memory.remember("huu-nghi", get_gate(store, "huu-nghi"))
        measure("token check, remembered (gate_tokens)", lambda _: memory.recall("huu-nghi", token), n)
        measure("empty write transaction", empty_write, n)
        measure("record_heartbeat", lambda _: record_heartbeat(store, "huu-nghi", json.loads(sent_now(hb))), n)
        measure("record_proof_of_play (12 rows)",
                lambda _: record_proof_of_play(store, "huu-nghi", json.loads(pop(0))), n)
        beat = measure("POST heartbeat (whole request)", lambda _: client.post(
            "/api/v1/gates/huu-nghi/heartbeat", data=sent_now(hb), headers=headers), n)
        measure("record_report (heartbeat + 12 rows)",
                lambda _: record_report(store, "huu-nghi", json.loads(report(0))), n)
        played = measure("POST proof-of-play (whole request)", lambda _: client.post(
            "/api/v1/gates/huu-nghi/proof-of-play", data=pop(0), headers=headers), n)
        combined = measure("POST report (whole request)", lambda _: client.post(
            "/api/v1/gates/huu-nghi/report", data=report(0), headers=headers), n)
        # As under a fleet: many requests at once share each transaction (group
        # commit, central.gate_reports); CPU of the whole process per request.
        writer = app.extensions["gate_reports"].writer
        for kind, body in (("heartbeat", lambda: sent_now(hb)), ("proof-of-play", lambda: pop(0)),
                           ("report", lambda: report(0))):
            before = (writer.batches, writer.items)
            shared = measure_concurrent(
                f"POST {kind}, {args.concurrency} at a time", app, n,
                args.concurrency, f"/api/v1/gates/huu-nghi/{kind}", body, headers)
            batches = writer.batches - before[0]
            print(f"{'':42s} {(writer.items - before[1]) / max(1, batches):.1f} requests "
                  f"per commit")
            concurrent.append(shared)
        app.extensions["release_watch"].stop()
        store.close()
    print(f"a gate's minute, one request at a time: {beat + played:.2f} ms CPU as two "
          f"requests, {combined:.2f} ms as one report")
    print(f"a gate's minute, {args.concurrency} requests at a time: {sum(concurrent[:2]):.2f} ms "
          f"CPU as two requests (heartbeat + proof of play)")
    print(f"central_report_cpu_ms: {concurrent[2]:.2f}")


if __name__ == "__main__":
    main()
