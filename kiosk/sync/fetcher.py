"""HTTP downloads for the TUF client that survive bad 3G/4G links.

python-tuf's own fetcher starts every download again from byte 0. This one keeps
what arrived in a partial file and asks only for the rest (`Range: bytes=N-`).
Only URLs that name immutable content are resumed: with consistent snapshots every
target is `<hash>.<name>` and every snapshot/targets file `<version>.<role>.json`,
so the bytes behind such a URL never change. `timestamp.json` (which does change)
is always fetched whole. TUF still checks the length and hashes of the complete
file, so a resumed file with a bad prefix is caught and thrown away.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Iterator
from urllib.parse import urlsplit

import urllib3
from tuf.api import exceptions
from tuf.ngclient.fetcher import FetcherInterface

from kiosk import __version__
from kiosk.sync.link import Link

CHUNK = 64 * 1024
# Names whose bytes can never change: "<version>.<role>.json" and "<hash>.<name>".
_IMMUTABLE_NAME = re.compile(r"^(?:\d+|[0-9a-f]{64})\.[^/]+$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass
class FetchStats:
    """What crossed the link, for the sync state and the benchmarks."""

    requests: int = 0
    body_bytes: int = 0
    resumed: int = 0
    server_date: datetime | None = None  # Date header of the latest answer
    local_at_server_date: datetime | None = None
    urls: list[str] = field(default_factory=list)


def is_immutable(url: str) -> bool:
    return bool(_IMMUTABLE_NAME.match(urlsplit(url).path.rsplit("/", 1)[-1]))


class ResumingFetcher(FetcherInterface):
    """A `FetcherInterface` over urllib3 that resumes immutable downloads."""

    def __init__(
        self,
        partial_dir: Path | str,
        timeout: float = 30.0,
        attempts_without_progress: int = 3,
        pool: Link | urllib3.PoolManager | None = None,
    ):
        self.partial_dir = Path(partial_dir)
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.attempts_without_progress = attempts_without_progress
        # The sync process's kept connection (kiosk.sync.link), shared with its
        # reports: keep-alive saves a TCP (and TLS) handshake per request, which
        # is most of an unchanged poll's cost.
        self.link = Link.of(pool)
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._headers = {"User-Agent": f"gatecast/{__version__}"}
        self.stats = FetchStats()

    # ---- plumbing ----------------------------------------------------------

    def _request(self, url: str, headers: dict[str, str] | None = None):
        self.stats.requests += 1
        self.stats.urls.append(url)
        try:
            resp = self.link.request(
                "GET", url, headers={**self._headers, **(headers or {})},
                timeout=self._timeout, preload_content=False, redirect=False,
            )
        except urllib3.exceptions.TimeoutError as e:
            raise exceptions.SlowRetrievalError(f"{url}: {e}") from e
        except urllib3.exceptions.HTTPError as e:
            raise exceptions.DownloadError(f"{url}: {e}") from e
        date = resp.headers.get("Date")
        if date:
            with contextlib.suppress(TypeError, ValueError, IndexError):
                self.stats.server_date = parsedate_to_datetime(date)
                self.stats.local_at_server_date = datetime.now(timezone.utc)
        return resp

    def _stream(self, resp) -> Iterator[bytes]:
        done = False
        try:
            # read1, not stream(): stream(n) drops a half-filled last chunk when the
            # link is cut, and on a slow link that is most of what a resume saves.
            while chunk := resp.read1(CHUNK):
                self.stats.body_bytes += len(chunk)
                yield chunk
            done = True
        except urllib3.exceptions.TimeoutError as e:
            raise exceptions.SlowRetrievalError(str(e)) from e
        except urllib3.exceptions.HTTPError as e:
            # A cut connection: urllib3 enforces Content-Length, so a short
            # body lands here instead of looking complete.
            raise exceptions.DownloadError(str(e)) from e
        finally:
            if done:
                resp.release_conn()
            else:
                # Half-read: the connection must not go back to the pool.
                resp.close()

    def partial_path(self, url: str) -> Path:
        return self.partial_dir / (hashlib.sha256(url.encode()).hexdigest()[:40] + ".part")

    # ---- FetcherInterface -------------------------------------------------

    def _fetch(self, url: str) -> Iterator[bytes]:
        if is_immutable(url):
            path = self.fetch_to_file(url, None)
            return _read_then_delete(path)
        resp = self._request(url)
        if resp.status >= 400:
            resp.drain_conn()
            resp.release_conn()
            raise exceptions.DownloadHTTPError(f"{url}: HTTP {resp.status}", resp.status)
        return self._stream(resp)

    @contextlib.contextmanager
    def download_file(self, url: str, max_length: int) -> Iterator[IO]:
        """TUF's entry point. Immutable URLs go through the partial file (no second
        temporary copy); the partial is dropped once TUF has read it, good or bad."""
        if not is_immutable(url):
            with super().download_file(url, max_length) as f:
                yield f
            return
        try:
            path = self.fetch_to_file(url, max_length)
        except exceptions.DownloadError:
            raise
        except Exception as e:  # same contract as FetcherInterface.fetch
            raise exceptions.DownloadError(f"Failed to download {url}") from e
        try:
            with open(path, "rb") as f:
                yield f
        finally:
            path.unlink(missing_ok=True)

    # ---- resuming ------------------------------------------------------------

    def fetch_to_file(self, url: str, max_length: int | None) -> Path:
        """Download `url` into its partial file, resuming what an earlier attempt
        left, and return the path of the complete file (the caller verifies it and
        then adopts or deletes it).

        A cut link is resumed at once as long as each attempt brings new bytes;
        after `attempts_without_progress` fruitless attempts the error is raised
        and the partial file is kept for the next sync cycle.
        """
        path = self.partial_path(url)
        fruitless = 0
        while True:
            have = path.stat().st_size if path.exists() else 0
            if max_length is not None and have > max_length:
                path.unlink()
                have = 0
            if max_length is not None and have == max_length and have > 0:
                return path  # complete from an earlier cycle; the caller verifies
            try:
                got = self._fetch_range(url, path, have, max_length)
            except exceptions.DownloadHTTPError as e:
                if e.status_code < 500:
                    raise
                got, error = 0, e
            except exceptions.DownloadLengthMismatchError:
                path.unlink(missing_ok=True)
                raise
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    # A full disk: the half file only makes it fuller.
                    path.unlink(missing_ok=True)
                raise
            except exceptions.DownloadError as e:
                got, error = None, e
            else:
                return path
            if got is None:
                # Cut mid-body: how much did this attempt bring?
                now = path.stat().st_size if path.exists() else 0
                got = now - have
            if got > 0:
                fruitless = 0
                self.stats.resumed += 1
                continue
            fruitless += 1
            if fruitless >= self.attempts_without_progress:
                raise error
            time.sleep(min(0.25 * 2**fruitless, 2.0))

    def _fetch_range(self, url: str, path: Path, have: int, max_length: int | None) -> int:
        headers = {"Range": f"bytes={have}-"} if have else None
        resp = self._request(url, headers)
        if resp.status == 416 and have:
            # The partial is not a prefix of this file (or is all of it and more).
            resp.drain_conn()
            resp.release_conn()
            path.unlink(missing_ok=True)
            return self._fetch_range(url, path, 0, max_length)
        if resp.status >= 400:
            resp.drain_conn()
            resp.release_conn()
            raise exceptions.DownloadHTTPError(f"{url}: HTTP {resp.status}", resp.status)
        start = 0
        if resp.status == 206:
            m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                resp.close()
                path.unlink(missing_ok=True)
                raise exceptions.DownloadError(
                    f"{url}: answer to Range bytes={have}- started elsewhere "
                    f"({resp.headers.get('Content-Range')!r}); starting over next attempt"
                )
            start = have
        # A 200 to a Range request means the server ignored it: start over.
        written = 0
        with open(path, "r+b" if path.exists() else "wb") as out:
            out.seek(start)
            out.truncate(start)
            for chunk in self._stream(resp):
                if max_length is not None and start + written + len(chunk) > max_length:
                    raise exceptions.DownloadLengthMismatchError(
                        f"{url}: more than the {max_length} bytes the metadata allows"
                    )
                out.write(chunk)
                written += len(chunk)
            out.flush()
        return written


def _read_then_delete(path: Path) -> Iterator[bytes]:
    try:
        with open(path, "rb") as f:
            yield from iter(lambda: f.read(CHUNK), b"")
    finally:
        path.unlink(missing_ok=True)
