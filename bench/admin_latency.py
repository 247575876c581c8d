"""Admin latency under load: the dashboard page and a JSON API call
(/api/v1/status) from 20 concurrent clients against gunicorn on 127.0.0.1,
plus the dashboard's page weight and a check that it asks no other host.

    .venv/bin/python bench/admin_latency.py [--clients 20] [--seconds 20] [--interval 1]

Each client is a browser tab or a script polling: it logs in, then sends a
request every `--interval` seconds (jittered; the dashboard itself refreshes
every 2 s), alternating the dashboard page and /api/v1/status. A second run
with no pause at all (`--interval 0`, every client back-to-back) measures the
saturation throughput. The `admin_p95_ms` line is the paced run's p95.

Last line: `admin_p95_ms: X` (target <= 50; page weight <= 150 KB).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk import content  # noqa: E402
from kiosk.mediastore import MediaStore  # noqa: E402
from kiosk.settings import load_settings  # noqa: E402
from kiosk.store import iso, log_event, open_db, set_state, utcnow  # noqa: E402

GATECAST = str(Path(sys.executable).parent / "gatecast")
PASSWORD = "bench-password-123"


def prepare(tmp: Path) -> tuple[Path, Path]:
    """A gate with two faces, a week of proof of play, playlists and entries."""
    from datetime import timedelta

    from PIL import Image

    state, config = tmp / "state", tmp / "gatecast.toml"
    state.mkdir()
    config.write_text('[[outputs]]\nname = "main"\nwidth = 1920\nheight = 1080\n'
                      '[[faces]]\nid = 1\nname = "Mặt 1"\noutput = "main"\n'
                      '[[faces]]\nid = 2\nname = "Mặt 2"\noutput = "main"\n')
    settings = load_settings(config_file=config, state_dir=state, env={})
    db = open_db(settings.db_path)
    store = MediaStore(settings.media_dir)
    shas = []
    for i in range(12):
        img = tmp / f"poster-{i}.png"
        Image.new("RGB", (320, 180), (20 * i, 100, 200 - 10 * i)).save(img)
        shas.append(content.add_media(db, store, img, name=f"Áp phích {i}.png"))
    for p in range(4):
        content.set_playlist(db, f"l-{p}", f"Danh sách {p}", [(s, 8.0) for s in shas[p * 3:p * 3 + 3]])
        content.add_schedule_entry(db, f"l-{p}", [1 + p % 2], f"{6 + p:02d}:00", f"{18 + p:02d}:00",
                                   "priority" if p == 3 else "normal", name=f"Mục {p}")
    now = utcnow()
    rows = [{"face_id": 1 + i % 2, "media_sha256": shas[i % 12], "media_name": f"Áp phích {i % 12}.png",
             "entry_id": "x", "level": "normal", "started_at": iso(now - timedelta(seconds=8 * i)),
             "ended_at": iso(now - timedelta(seconds=8 * i - 8)), "outcome": "completed"}
            for i in range(20000)]
    db["proof_of_play"].insert_all(rows, batch_size=1000)
    for i in range(200):
        log_event(db, "player", "warning" if i % 5 else "error", "bench", f"event {i}", face_id=1)
    shots = settings.screenshot_dir
    shots.mkdir(parents=True, exist_ok=True)
    for face in (1, 2):
        Image.new("RGB", (320, 180), (200, 30, 30)).save(shots / f"face-{face}.png")
        db["face_state"].upsert({"face_id": face, "power": "on", "blanked": 0, "level": "normal",
                                 "playing_sha256": shas[0], "playing_name": "Áp phích 0.png",
                                 "since": iso(now), "screenshot": f"face-{face}.png",
                                 "screenshot_at": iso(now), "updated_at": iso(now)}, pk="face_id")
    set_state(db, "health", {"cpu_temp_c": 52.1, "disk_free_mb": 20480, "alarms": []})
    set_state(db, "sync", {"status": "unchanged", "last_success_at": iso(now),
                           "last_good_release_version": 7})
    db.close()
    subprocess.run([GATECAST, "admin", "--state", str(state), "--config", str(config),
                    "create-user", "--username", "bench", "--role", "operator"],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    return state, config


class Client:
    """One keep-alive HTTP connection with the session cookie of a logged-in user."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def request(self, method, path, body=None, headers=None):
        h = {"Cookie": self.cookie} if self.cookie else {}
        h.update(headers or {})
        try:
            self.conn.request(method, path, body=body, headers=h)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # gunicorn closes idle keep-alive connections after 2 s; a browser
            # reconnects silently, and so does this client.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=h)
            resp = self.conn.getresponse()
        data = resp.read()
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie" and v.startswith("gatecast_session="):
                self.cookie = v.split(";")[0]
        return resp.status, dict(resp.getheaders()), data

    def login(self):
        from urllib.parse import urlencode

        _, _, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        status, _, _ = self.request("POST", "/login", urlencode(
            {"username": "bench", "password": PASSWORD, "csrf_token": token}),
            {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, status

    def api_token(self) -> str:
        from urllib.parse import urlencode

        _, _, page = self.request("GET", "/account")
        csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        _, _, page = self.request("POST", "/account/tokens", urlencode({"name": "bench", "csrf_token": csrf}),
                                  {"Content-Type": "application/x-www-form-urlencoded"})
        return re.search(rb'id="new-token">([^<]+)<', page).group(1).decode()


def page_weight(client: Client) -> tuple[int, list[str], list[str]]:
    """Bytes of the dashboard and everything it loads; and any foreign URLs."""
    _, _, html = client.request("GET", "/")
    total = len(html)
    refs = re.findall(rb'(?:src|href)="([^"]+)"', html)
    foreign, loaded = [], []
    for ref in {r.decode() for r in refs}:
        if ref.startswith(("http://", "https://", "//")):
            foreign.append(ref)
            continue
        if not ref.startswith("/") or ref.startswith("/logout"):
            continue
        if not re.search(r"\.(css|js|png|svg|ico|woff2?)(\?|$)", ref):
            continue  # links to other pages are not part of this page's weight
        status, _, body = client.request("GET", ref.replace("&amp;", "&"))
        if status == 200:
            total += len(body)
            loaded.append(ref)
    return total, loaded, foreign


def run(sessions: list, token: str, seconds: float, interval: float) -> dict[str, list[float]]:
    times = {"dashboard": [], "api_status": []}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    errors = []

    def worker(i):
        import random

        c = sessions[i]
        mine = {"dashboard": [], "api_status": []}
        n = 0
        rng = random.Random(i)
        time.sleep(rng.uniform(0, interval))  # tabs are not opened in lockstep
        while time.monotonic() < stop:
            if interval:
                time.sleep(rng.uniform(0.5 * interval, 1.5 * interval))
            name = "dashboard" if (n + i) % 2 == 0 else "api_status"
            t0 = time.perf_counter()
            if name == "dashboard":
                status, _, _ = c.request("GET", "/")
            else:
                status, _, _ = c.request("GET", "/api/v1/status", headers={"Authorization": "Bearer " + token})
            dt = (time.perf_counter() - t0) * 1000
            if status != 200:
                errors.append(status)
            mine[name].append(dt)
            n += 1
        with lock:
            for k in times:
                times[k].extend(mine[k])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed: {sorted(set(errors))}")
    return times


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--interval", type=float, default=1.0,
                    help="seconds between one client's requests (0: back-to-back)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="admin-bench-") as tmp:
        tmp = Path(tmp)
        state, config = prepare(tmp)
        log = tmp / "gunicorn.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
        with open(log, "wb") as out:
            proc = subprocess.Popen([GATECAST, "admin", "--state", str(state), "--config", str(config),
                                     "--bind", "127.0.0.1:0", "--workers", str(args.workers),
                                     "--threads", str(args.threads)], env=env,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            port = None
            while port is None and time.monotonic() < deadline:
                m = re.search(rb"Listening at: http://127\.0\.0\.1:(\d+)", log.read_bytes())
                port = int(m.group(1)) if m else None
                time.sleep(0.1)
            if port is None:
                raise SystemExit("gunicorn did not start:\n" + log.read_text())
            time.sleep(1.0)  # let every worker boot
            first = Client(port)
            first.login()
            token = first.api_token()
            weight, loaded, foreign = page_weight(first)
            # Logging in (scrypt, ~0.2 s of CPU each) happens before the clock runs.
            sessions = []
            for _ in range(args.clients):
                sessions.append(Client(port))
                sessions[-1].login()
            run(sessions, token, 3, 0)  # warm-up
            saturated = run(sessions, token, min(args.seconds, 10), 0)
            times = run(sessions, token, args.seconds, args.interval)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    every = times["dashboard"] + times["api_status"]
    print(f"gunicorn {args.workers} workers x {args.threads} threads on 127.0.0.1; "
          f"{args.clients} clients")
    for title, result, seconds in (
            (f"saturation: every client back-to-back, {min(args.seconds, 10):.0f} s", saturated,
             min(args.seconds, 10)),
            (f"paced: each client one request every ~{args.interval:g} s, {args.seconds:.0f} s", times,
             args.seconds)):
        print(title)
        for name, values in (*result.items(), ("all", result["dashboard"] + result["api_status"])):
            print(f"  {name:11s} n={len(values):6d}  p50 {statistics.median(values):6.1f} ms  "
                  f"p95 {pct(values, 95):6.1f} ms  p99 {pct(values, 99):6.1f} ms  "
                  f"({len(values) / seconds:.0f} req/s)")
    print(f"dashboard page weight: {weight / 1024:.1f} KB ({len(loaded)} assets: {', '.join(sorted(loaded))})")
    print(f"requests to other hosts: {len(foreign)} {json.dumps(foreign)}")
    print(f"admin_p95_ms: {pct(every, 95):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
