"""What a sync poll costs on the wire: an unchanged poll, and a poll that brings a
release with one new media file. A real TUF repository (as the test kit publishes
it: compact JSON, Ed25519) on a real HTTP server; a counting proxy between it and the
gate measures every byte in both directions, HTTP headers included.

    .venv/bin/python bench/sync_bytes.py

The last line is `unchanged_poll_bytes: X` (target <= 2048).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from synckit.faultproxy import FaultProxy  # noqa: E402
from synckit.fixtures import publish_release  # noqa: E402
from synckit.gate import GATE_ID, TOKEN, Gate  # noqa: E402
from synckit.httpserver import CentralDouble  # noqa: E402
from synckit.tufrepo import TufRepo  # noqa: E402


def measure(proxy, gate):
    proxy.reset_counts()
    result = gate.pull()
    proxy.settle()
    return result, len(proxy.log), proxy.bytes_up, proxy.bytes_down


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        repo = TufRepo(tmp / "central")
        central = CentralDouble(repo.base, {GATE_ID: TOKEN})
        proxy = FaultProxy(central.url)
        gate = Gate(tmp / "gate", proxy.url, repo.root_bytes())
        try:
            # A realistic release: ten media already on the gate.
            library = [os.urandom(50_000) for _ in range(10)]
            publish_release(repo, 1, library)
            first, *_ = measure(proxy, gate)
            assert first.outcome == "activated", first.reason

            unchanged = []
            for _ in range(5):
                result, requests, up, down = measure(proxy, gate)
                assert result.outcome == "unchanged", result.reason
                unchanged.append((requests, up, down))
            print("  each poll (requests, up, down):", unchanged)
            requests, up, down = max(unchanged, key=lambda u: u[1] + u[2])
            print(f"unchanged poll: {requests} requests, {up} bytes up, {down} bytes down, "
                  f"{up + down} bytes total (worst of 5)")
            for method, path, _ in proxy.log:
                print(f"  {method} {path}")

            new_media = os.urandom(1_000_000)
            publish_release(repo, 2, [*library, new_media])
            result, requests, up, down = measure(proxy, gate)
            assert result.outcome == "activated", result.reason
            overhead = up + down - len(new_media)
            print(f"one-media change (1,000,000 B file added to 10): {requests} requests, {up + down} bytes "
                  f"total, {overhead} bytes beyond the file itself")
            print(f"timestamp.json: {len(repo.metadata_bytes('timestamp.json'))} bytes")
            print(f"unchanged_poll_bytes: {max(u[1] + u[2] for u in unchanged)}")
        finally:
            gate.close()
            proxy.close()
            central.close()


if __name__ == "__main__":
    main()
