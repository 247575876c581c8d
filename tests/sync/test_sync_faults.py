"""A bad link between gate and central (a fault-injecting proxy on loopback): sync
converges, resumes instead of starting over, and never activates a damaged file."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.support.sync.faultproxy import Fault, FaultProxy
from tests.support.sync.gate import Gate
from tests.support.sync.tufrepo import publish_release

MEDIA = os.urandom(400_000)
SHA = hashlib.sha256(MEDIA).hexdigest()
MEDIA_PATH = f"/tuf/targets/media/{SHA}.{SHA}"


@pytest.fixture
def link(central):
    proxy = FaultProxy(central.url)
    yield proxy
    proxy.close()


@pytest.fixture
def gate(tmp_path, repo, link):
    g = Gate(tmp_path / "gate", link.url, repo.root_bytes(), sync_http_timeout_s=1.0)
    publish_release(repo, 1, [MEDIA])
    yield g
    g.close()


def converge(gate, max_pulls=6):
    results = []
    for _ in range(max_pulls):
        results.append(gate.pull())
        if results[-1].outcome == "activated":
            break
    assert results[-1].outcome == "activated", [(r.code, r.reason) for r in results]
    store_file = gate.settings.media_dir / SHA
    assert hashlib.sha256(store_file.read_bytes()).hexdigest() == SHA
    assert gate.release()["version"] == 1
    return results


def media_requests(link):
    return [rng for _, path, rng in link.log if path == MEDIA_PATH]


def test_cut_after_n_bytes_resumes_with_range(gate, link):
    link.add(Fault("cut", MEDIA_PATH, after=150_000))
    [result] = converge(gate)
    ranges = media_requests(link)
    assert ranges[0] is None and ranges[1].startswith("bytes=") and int(ranges[1][6:-1]) > 100_000
    # Resuming, not starting over: little more than the file crossed the link.
    assert result.bytes < len(MEDIA) * 1.05


def test_stall_is_cut_by_the_timeout_and_resumed(gate, link):
    link.add(Fault("stall", MEDIA_PATH, after=100_000, seconds=4))
    results = converge(gate)
    assert len(results) == 1, [(r.code, r.reason) for r in results]
    [result] = results
    assert len(media_requests(link)) == 2 and result.bytes < len(MEDIA) * 1.05


def test_http_500_fails_the_pull_and_the_next_one_converges(gate, link):
    link.add(Fault("http500", "/tuf/metadata/timestamp.json"))
    results = converge(gate)
    assert results[0].code == "network" and "500" in results[0].reason
    assert gate.sync_state()["status"] == "activated"


def test_truncated_answer_that_looks_complete_is_caught_and_refetched(gate, link):
    link.add(Fault("truncate", MEDIA_PATH, after=200_000))
    results = converge(gate)
    assert results[0].code == "tampered", results[0].reason
    assert [r for r in media_requests(link)] == [None, None]


def test_partial_download_survives_a_failed_pull(gate, link):
    # The link dies mid-file and stays down for the rest of this pull.
    link.add(Fault("cut", MEDIA_PATH, after=250_000))
    link.add(Fault("http500", MEDIA_PATH, times=3))
    first = gate.pull()
    assert first.code == "network"
    partial = list((gate.settings.media_dir / ".partial").iterdir())
    assert len(partial) == 1 and partial[0].stat().st_size > 200_000

    # The next pull (the next sync cycle, or after a restart) goes on from there.
    [second] = converge(gate)
    assert media_requests(link)[-1].startswith("bytes=")
    assert second.bytes < len(MEDIA) - 200_000
    assert not list((gate.settings.media_dir / ".partial").iterdir())


def test_link_cut_every_64_kb_converges(tmp_path, repo, central):
    proxy = FaultProxy(central.url, cut_every=64 * 1024)
    try:
        g = Gate(tmp_path / "gate", proxy.url, repo.root_bytes(), sync_http_timeout_s=2.0)
        publish_release(repo, 1, [MEDIA])
        results = converge(g, max_pulls=10)
        assert len([r for r in proxy.log if r[1] == MEDIA_PATH]) >= len(MEDIA) // (64 * 1024)
        assert sum(r.bytes for r in results) < len(MEDIA) * 1.2
        g.close()
    finally:
        proxy.close()


@pytest.mark.slow
def test_a_20_kb_per_second_link_converges(tmp_path, repo, central):
    proxy = FaultProxy(central.url, rate=20 * 1024)
    try:
        small = os.urandom(60_000)
        g = Gate(tmp_path / "gate", proxy.url, repo.root_bytes(), sync_http_timeout_s=5.0)
        publish_release(repo, 1, [small])
        result = g.pull()
        assert result.outcome == "activated", result.reason
        assert proxy.bytes_down > len(small)
        g.close()
    finally:
        proxy.close()


def test_a_server_that_ignores_range_still_converges(gate, link, central):
    link.add(Fault("cut", MEDIA_PATH, after=150_000))
    link.add(Fault("http500", MEDIA_PATH, times=3))
    assert gate.pull().code == "network"
    central.ignore_range = True  # e.g. a CDN edge without Range support
    [result] = converge(gate)
    assert media_requests(link)[-1].startswith("bytes=")
    assert result.bytes >= len(MEDIA)  # started over, and the file is right


def test_a_stale_or_oversized_partial_is_not_trusted(gate, link):
    from kiosk.sync.fetcher import ResumingFetcher

    # Junk of the right length where the partial for this URL would be: the
    # complete-looking file fails TUF's hash check and is fetched again.
    fetcher = ResumingFetcher(gate.settings.media_dir / ".partial")
    url = f"{link.url}{MEDIA_PATH}"
    fetcher.partial_path(url).write_bytes(b"\0" * len(MEDIA))
    results = converge(gate)
    assert results[0].code == "tampered" and len(results) == 2
    # Longer than the signed length: dropped before any request.
    fetcher.partial_path(url).write_bytes(b"\0" * (len(MEDIA) + 1))
    path = fetcher.fetch_to_file(url, len(MEDIA))
    assert path.read_bytes() == MEDIA
