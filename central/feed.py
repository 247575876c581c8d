"""Telling waiting gates that their release changed.

In production the gates' long polls are held by nginx's nchan module
(deploy/nginx/gatecast-central.conf), not by the application: one channel per
gate (channel group `gate`, id = the gate's id), keeping its last message,
`{"version": N}`. After a publication is signed, written and recorded, the
publisher (any application server, or the CLI) posts that message to nginx's
internal publish location (`central_feed_publish_url`). The changed gates of
one publication all get the same version, so one POST names up to 255 of them
(`<url>/<id>,<id>,...`: nchan publishes one message to each of those
channels); an emergency for 10,000 gates is 40 posts, not 10,000. Several
application servers behind one nginx all post to the same place; nchan's
channels live in nginx's shared memory, so every waiting gate hears it.

Without nginx (`gatecast central serve` alone, the demo, most tests) there is
nothing to post: the application's own wait endpoint watches the database
(central/notify.py).

A feed that cannot be reached never fails a publication: the repository is
already published, and gates fall back to their poll interval.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from central.checks import Said

log = logging.getLogger("gatecast.central.feed")

# Requests written before their answers are read: few enough that their
# answers always fit the socket buffers (no deadlock with nginx).
BATCH = 256
# nchan publishes to at most 255 channels named in one request (more: 403).
GATES_PER_POST = 255
# nginx reads a request line into one 8 KB buffer (large_client_header_buffers):
# a post's list of gate ids stays well under it (gate ids are up to 63 characters).
IDS_BYTES = 6000


class FeedError(Exception):
    pass


@dataclass
class NchanFeed:
    """nchan's publish location: POST <url>/<gate id>[,<gate id>...] with the message."""

    publish_url: str
    origin_url: str = ""  # the static origin gates read; checked before telling them
    origin_wait_s: float = 30.0
    timeout: float = 10.0
    gates_per_post: int = GATES_PER_POST  # 1: one post per gate (bench comparison)

    def __post_init__(self):
        parts = urlsplit(self.publish_url)
        if parts.scheme != "http" or not parts.hostname:
            raise FeedError(f"central_feed_publish_url must be http://HOST:PORT/PATH "
                            f"(nginx's internal publish location), not {self.publish_url!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._path = parts.path.rstrip("/")

    def announce(self, versions: dict[str, int]) -> int:
        """Post `{"version": N}` to each gate's channel; returns how many gates
        nchan accepted it for. Gates told the same version share posts (up to
        255 gates each: an emergency for the fleet is one version), and the
        posts go pipelined over one keep-alive connection (HTTP/1.1). Measured
        in bench/emergency_fanout.py (--gates-per-post 1: one post per gate)."""
        posts = self.posts(versions)
        accepted = 0
        try:
            with socket.create_connection((self._host, self._port), timeout=self.timeout) as s:
                answers = s.makefile("rb")
                for start in range(0, len(posts), BATCH):
                    batch = posts[start:start + BATCH]
                    s.sendall(b"".join(self._request(gates, version) for gates, version in batch))
                    for gates, _ in batch:
                        status = _read_answer(answers)
                        if status in (201, 202):
                            accepted += len(gates)
                        else:
                            log.warning("change feed refused gates %s: HTTP %s",
                                        ",".join(gates), status)
        except OSError as e:
            raise FeedError(f"the change feed at {self.publish_url} cannot be reached: {e}") from e
        return accepted

    def posts(self, versions: dict[str, int]) -> list[tuple[list[str], int]]:
        """The posts telling `versions`: the gates of one version, in order, a
        list of at most `gates_per_post` and IDS_BYTES of ids each."""
        by_version: dict[int, list[str]] = {}
        for gate, version in sorted(versions.items()):
            by_version.setdefault(version, []).append(gate)
        posts = []
        for version, gates in sorted(by_version.items()):
            post: list[str] = []
            size = 0
            for gate in gates:
                if post and (len(post) >= self.gates_per_post or size + len(gate) + 1 > IDS_BYTES):
                    posts.append((post, version))
                    post, size = [], 0
                post.append(gate)
                size += len(gate) + 1
            posts.append((post, version))
        return posts

    def _request(self, gates: list[str], version: int) -> bytes:
        body = json.dumps({"version": version}).encode()
        return (f"POST {self._path}/{','.join(gates)} HTTP/1.1\r\nHost: {self._host}\r\n"
                f"Content-Type: application/json\r\nAccept: text/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _read_answer(f) -> int:
    status_line = f.readline()
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise OSError(f"not an HTTP answer: {status_line[:60]!r}")
    length, chunked = 0, False
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int(f.readline().split(b";")[0].strip() or b"0", 16)
            f.read(size + 2)
            if size == 0:
                break
    elif length:
        f.read(length)
    return int(parts[1])


def feed_for(settings) -> NchanFeed | None:
    """The feed to tell after a publication; None when the application's own
    wait endpoint serves the gates (no nginx in front)."""
    url = settings["central_feed_publish_url"]
    return NchanFeed(url, origin_url=settings["central_origin_url"]) if url else None


def origin_shows(origin_url: str, version: int, pool: urllib3.PoolManager | None = None) -> bool:
    """Whether the static origin the gates read already serves a timestamp
    naming repository (snapshot) `version` or later."""
    pool = pool or urllib3.PoolManager(retries=False)
    try:
        r = pool.request("GET", f"{origin_url.rstrip('/')}/tuf/metadata/timestamp.json",
                         headers={"Cache-Control": "no-cache"}, timeout=10.0)
        if r.status != 200:
            return False
        return json.loads(r.data)["signed"]["meta"]["snapshot.json"]["version"] >= version
    except (urllib3.exceptions.HTTPError, ValueError, KeyError, TypeError):
        return False


def announce(feed: NchanFeed | None, result) -> None:
    """Tell the gates whose release changed, once the repository is where
    they read it. Called by publish() after the repository files are written,
    fsynced and renamed (timestamp.json last) and the publication recorded.
    Problems become warnings on the result (central.checks.Said, said in
    words on the console, the CLI and the API): the publication itself stands."""
    if feed is None or not result.changed:
        return
    origin = feed.origin_url
    if origin:
        deadline = time.monotonic() + feed.origin_wait_s
        pool = urllib3.PoolManager(retries=False)
        while not origin_shows(origin, result.repository_version, pool):
            if time.monotonic() > deadline:
                result.warnings.append(Said(
                    f"the static origin {origin} does not serve repository version "
                    f"{result.repository_version} after {feed.origin_wait_s:.0f} s: gates were not told; "
                    f"they find it at their next poll", "feed_origin_behind", origin=origin,
                    version=result.repository_version, seconds=f"{feed.origin_wait_s:.0f}"))
                return
            time.sleep(0.2)
    try:
        told = feed.announce(result.changed)
    except FeedError as e:
        log.warning("%s", e)
        result.warnings.append(Said(f"{e}; gates find the new release at their next poll",
                                    "feed_unreachable", url=feed.publish_url))
        return
    if told < len(result.changed):
        result.warnings.append(Said(f"the change feed accepted {told} of {len(result.changed)} "
                                    f"messages; the others find it at their next poll",
                                    "feed_partial", told=told, count=len(result.changed)))
