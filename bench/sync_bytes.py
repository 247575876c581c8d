"""What a sync poll costs on the wire: an unchanged poll, and a poll that brings a
release with one new media file. Twice: against the test kit's TUF repository on a
small HTTP server, and against the real central server (`central/`, its Flask app on
127.0.0.1, its repository with the publisher delegation). A counting proxy between
server and gate measures every byte in both directions, HTTP headers included.

    .venv/bin/python bench/sync_bytes.py

The last line is `unchanged_poll_bytes: X` (target <= 2048).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.sync.faultproxy import FaultProxy  # noqa: E402
from tests.support.sync.tufrepo import publish_release  # noqa: E402
from tests.support.sync.gate import GATE_ID, TOKEN, Gate  # noqa: E402
from tests.support.sync.httpserver import CentralDouble  # noqa: E402
from tests.support.sync.tufrepo import TufRepo  # noqa: E402


def measure(proxy, gate):
    proxy.reset_counts()
    result = gate.pull()
    proxy.settle()
    return result, len(proxy.log), proxy.bytes_up, proxy.bytes_down


def test_kit():
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
            return max(u[1] + u[2] for u in unchanged)
        finally:
            gate.close()
            proxy.close()
            central.close()


def real_central():
    import logging

    from tests.support.central import LiveServer, make_central
    from tests.support.media import make_image

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        central = make_central(tmp / "central")
        server = LiveServer(central.settings)
        proxy = FaultProxy(server.url)
        token = central.gate(GATE_ID, faces=(1, 2))
        gate = Gate(tmp / "gate", proxy.url, central.repo.trusted_root_path.read_bytes())
        gate.token_file.write_text(token)
        try:
            shas = [central.media(make_image(tmp / f"{i}.png", color=(i * 20, 0, 0)))
                    for i in range(10)]
            central.show(GATE_ID, shas)
            central.publish()
            first, *_ = measure(proxy, gate)
            assert first.outcome == "activated", first.reason
            worst = 0
            for _ in range(5):
                result, requests, up, down = measure(proxy, gate)
                assert result.outcome == "unchanged", result.reason
                worst = max(worst, up + down)
            print(f"real central, unchanged poll: {requests} requests, {worst} bytes total "
                  "(worst of 5)")
            for method, path, _ in proxy.log:
                print(f"  {method} {path}")
            big = make_image(tmp / "big.png", size=(1920, 1080), color=(0, 90, 0))
            new = central.media(big)
            central.show(GATE_ID, [*shas, new], playlist="with-new")
            central.publish()
            result, requests, up, down = measure(proxy, gate)
            assert result.outcome == "activated", result.reason
            size = big.stat().st_size
            print(f"real central, one-media change ({size} B image added to 10): {requests} "
                  f"requests, {up + down} bytes total, {up + down - size} beyond the file itself")
            return worst
        finally:
            gate.close()
            proxy.close()
            server.close()
            central.db.close()


def main():
    kit = test_kit()
    real = real_central()
    print(f"unchanged_poll_bytes: {max(kit, real)}")


if __name__ == "__main__":
    main()
