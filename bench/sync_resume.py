"""Resuming over a link that is cut every 10 MB: a 100 MB media target pulled by the
gate through a proxy that closes whichever connection carries the next 10 MB. The
ratio is every byte that came down the link (HTTP headers and TUF metadata
included) over the file's size; a fetcher that starts over would need ~5.5x.

    .venv/bin/python bench/sync_resume.py [size_mb] [cut_every_mb]

The last line is `resume_overhead_ratio: X` (target <= 1.05).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.sync.faultproxy import FaultProxy  # noqa: E402
from tests.support.sync.gate import GATE_ID, TOKEN, Gate  # noqa: E402
from tests.support.sync.httpserver import CentralDouble  # noqa: E402
from tests.support.sync.tufrepo import TufRepo, media_entry, release_doc  # noqa: E402

MB = 1024 * 1024


def main():
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    cut_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        repo = TufRepo(tmp / "central")
        data = os.urandom(size_mb * MB)
        sha = repo.add_media(data)
        repo.add_release(release_doc(GATE_ID, 1, [media_entry(sha, data, kind="video")]))
        repo.publish()
        del data
        central = CentralDouble(repo.base, {GATE_ID: TOKEN})
        proxy = FaultProxy(central.url, cut_every=cut_mb * MB)
        gate = Gate(tmp / "gate", proxy.url, repo.root_bytes(), sync_http_timeout_s=10.0)
        try:
            started = time.monotonic()
            pulls = 0
            while True:
                pulls += 1
                result = gate.pull()
                if result.outcome == "activated" or pulls >= 20:
                    break
            proxy.settle()
            elapsed = time.monotonic() - started
            assert result.outcome == "activated", result.reason
            stored = gate.settings.media_dir / sha
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha
            media_requests = [r for r in proxy.log if "/targets/media/" in r[1]]
            ratio = proxy.bytes_down / (size_mb * MB)
            print(f"file: {size_mb} MB; link cut every {cut_mb} MB")
            print(f"pulls: {pulls}; media requests: {len(media_requests)} "
                  f"({sum(1 for r in media_requests if r[2])} with Range); time {elapsed:.1f} s")
            print(f"bytes down: {proxy.bytes_down}; bytes up: {proxy.bytes_up}")
            print(f"resume_overhead_ratio: {ratio:.4f}")
        finally:
            gate.close()
            proxy.close()
            central.close()


if __name__ == "__main__":
    main()
