"""The `gatecast sync` service: pull on a jittered interval, report on the heartbeat
interval, and all the while hold a long-poll on central's change notification so an
emergency release is pulled within seconds of publishing.

Two kept connections (kiosk.sync.link) for the process's life: the loop's pulls and
reports take turns on one, and a second thread holds the change feed's long poll on
the other, asking again as soon as it ends. (On one connection, a report falling due
meant hanging up on the long poll that nginx holds its full 55 s: a new connection,
and a new TLS handshake, every minute.)

The notification is only a hint to pull now; what gets activated is always what a
normal TUF refresh verifies. Only one sync runs per state folder (a lock file), as
python-tuf's Updater requires.
"""

from __future__ import annotations

import fcntl
import logging
import random
import threading
import time
from datetime import timedelta
from pathlib import Path

from kiosk.store import get_state, iso, set_state, utcnow
from kiosk.sync import outbox
from kiosk.sync.activate import active_release
from kiosk.sync.fetcher import ResumingFetcher
from kiosk.sync.link import Link
from kiosk.sync.pull import PullConfig, PullResult, pull
from kiosk.sync.report import FlushResult, NotSupported, Offline, Reporter, Unauthorised, read_token
from kiosk.sync.status import SYNC_KEY, record_pull

log = logging.getLogger("gatecast.sync")
MB = 1024 * 1024
PLAY_PRUNE_INTERVAL_S = 3600
# After central answered the combined report with 404 (a central from before it), how
# long the gate sends heartbeat and proof of play apart before it tries `report` again.
SEPARATE_REPORTS_S = 3600


class AlreadyRunning(Exception):
    pass


def jittered(interval: float, rng: random.Random) -> float:
    """+-20%, so a fleet that lost power together does not poll together."""
    return interval * rng.uniform(0.8, 1.2)


def feed_retry_s(rng: random.Random, cap: float = 15.0) -> float:
    """The pause before asking the change feed again after it failed: anywhere
    in 1..cap s ("full jitter"). When nginx restarts, every gate's long poll
    drops at the same moment; a fixed pause brought the whole fleet back at the
    same moment too, each gate's first token check then costing the application
    1-3 ms (bench/emergency_fanout.py --cold)."""
    return rng.uniform(1.0, max(1.0, cap))


class _Stop(threading.Event):
    """The service's stop: setting it also wakes whoever waits on `wakes`."""

    def __init__(self, *wakes: threading.Event):
        super().__init__()
        self._wakes = wakes

    def set(self) -> None:
        super().set()
        for event in self._wakes:
            event.set()


class SyncService:
    def __init__(self, settings, db, rng: random.Random | None = None):
        self.settings = settings
        self.db = db
        # The loop sleeps on _wake: the feed's news and the stop both end its sleep.
        # The feed thread sleeps on _taken until the loop has acted on its news.
        self._wake = threading.Event()
        self._taken = threading.Event()
        self.stop = _Stop(self._wake, self._taken)
        self.rng = rng or random.Random()
        self.state_dir = Path(settings.state_path)
        self._lock_file = None
        self._last_screenshots = 0.0
        self._last_play_prune = 0.0
        self._feed_position: dict = {}  # where this gate is in nginx's change feed
        self._separate_since = 0.0  # when central last said it has no combined report
        # The kept connections: the loop's pulls and reports, and the feed's long poll.
        self.link = Link()
        self.feed_link = Link()
        self._announced: int | None = None  # the feed's news, for the loop to take
        self._wait_past = 0  # the version the feed waits past (known_version, kept by the loop)

    # ---- one step each ---------------------------------------------------------

    def lock(self) -> None:
        self._lock_file = open(self.state_dir / "sync.lock", "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            raise AlreadyRunning(f"another gatecast sync uses {self.state_dir}") from None

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None

    def pull(self) -> PullResult:
        config = PullConfig.from_settings(self.settings)
        result = pull(self.db, config, ResumingFetcher(config.partial_dir, timeout=config.timeout,
                                                       pool=self.link))
        record_pull(self.db, result)
        log.info("pull: %s %s %s", result.outcome, result.code, result.reason)
        return result

    def reporter(self, link: Link | None = None) -> Reporter | None:
        """A Reporter on `link` (default: the loop's connection)."""
        s = self.settings
        if not s["central_url"]:
            return None
        token = read_token(s["sync_token_file"])
        combined = not (self._separate_since
                        and time.monotonic() - self._separate_since < SEPARATE_REPORTS_S)
        return Reporter(s["central_url"], s["gate_id"], token, timeout=s["sync_http_timeout_s"],
                        pool=link or self.link, combined=combined)

    def report(self, heartbeat: bool = True) -> FlushResult:
        """Queue what is due (always, even offline), then send what the link takes."""
        s = self.settings
        if heartbeat:
            outbox.enqueue_heartbeat(self.db, s["gate_id"])
        if s["sync_screenshot_interval_s"] > 0 and (
            time.monotonic() - self._last_screenshots >= s["sync_screenshot_interval_s"]
            or not self._last_screenshots
        ):
            outbox.enqueue_screenshots(self.db, self.state_dir)
            self._last_screenshots = time.monotonic()
        outbox.enforce_bounds(self.db, self.state_dir, s["sync_queue_max_items"],
                              int(s["sync_queue_max_mb"] * MB))
        try:
            reporter = self.reporter()
        except Unauthorised as e:
            result = FlushResult(error=str(e), code="unauthorised")
        else:
            tried = reporter is not None and reporter.combined
            result = (reporter.flush(self.db, self.state_dir) if reporter
                      else FlushResult(error="central_url is not set", code="not_configured"))
            if tried and not reporter.combined:
                log.info("central has no combined report; heartbeat and proof of play "
                         "go as two requests for the next %d s", SEPARATE_REPORTS_S)
                self._separate_since = time.monotonic()
        # Pruning reads the whole table (only unsent rows are indexed): hourly is
        # plenty for a retention counted in days.
        days = s["sync_play_retention_days"]
        if days > 0 and (not self._last_play_prune
                         or time.monotonic() - self._last_play_prune >= PLAY_PRUNE_INTERVAL_S):
            outbox.prune_sent_plays(self.db, utcnow() - timedelta(days=days))
            self._last_play_prune = time.monotonic()
        self._record_upstream(result)
        return result

    def _record_upstream(self, result: FlushResult) -> None:
        state = get_state(self.db, SYNC_KEY) or {}
        prev = state.get("upstream") or {}
        now = iso(utcnow())
        state["upstream"] = {
            "status": result.code,
            "error": result.error,
            "last_attempt_at": now,
            "last_sent_at": now if result.code == "ok" else prev.get("last_sent_at"),
            "sent": result.sent,
            "pending": outbox.pending(self.db),
        }
        set_state(self.db, SYNC_KEY, state)

    def known_version(self) -> int:
        """The version to wait past: the newest seen, refused or not, so a refused
        release does not make the notification answer at once forever."""
        state = get_state(self.db, SYNC_KEY) or {}
        active = active_release(self.db)
        return max(state.get("offered_version") or 0, active["version"] if active else 0)

    def once(self) -> tuple[PullResult, FlushResult]:
        outbox.tidy(self.db, self.state_dir)
        return self.pull(), self.report()

    def close(self) -> None:
        """Close the kept connections (the service's end)."""
        self.link.close()
        self.feed_link.close()

    # ---- the service -------------------------------------------------------------

    def run(self) -> None:
        s = self.settings
        outbox.tidy(self.db, self.state_dir)
        next_pull = next_report = 0.0
        failures = 0
        feed: threading.Thread | None = None
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                if now >= next_pull:
                    result = self.pull()
                    failures = 0 if result.ok else failures + 1
                    # After a failure retry sooner (but backing off), never in a tight loop.
                    delay = s["sync_interval_s"] if result.ok else min(
                        s["sync_interval_s"], 10 * 2 ** min(failures, 6))
                    next_pull = time.monotonic() + jittered(delay, self.rng)
                    self._wait_past = self.known_version()
                    self._taken.set()  # the feed's news (if any) is pulled: it may ask again
                if time.monotonic() >= next_report:
                    reported = self.report()
                    if (reported.published_version or 0) > self.known_version() and not failures:
                        next_pull = time.monotonic()  # central says there is something new
                    next_report = time.monotonic() + jittered(s["sync_heartbeat_interval_s"],
                                                              self.rng)
                if feed is None and s["sync_longpoll_s"] > 0:
                    feed = threading.Thread(target=self._hold_feed, name="sync-feed", daemon=True)
                    feed.start()
                self._wake.clear()
                announced, self._announced = self._announced, None
                if announced is not None:
                    if announced > self._wait_past:
                        log.info("central announces release %s", announced)
                        next_pull = time.monotonic() if not failures else min(
                            next_pull, time.monotonic() + min(2 ** failures, 30))
                    else:
                        self._taken.set()  # pulled already (the report's answer said it)
                remaining = min(next_pull, next_report) - time.monotonic()
                if remaining > 0:
                    self._wake.wait(remaining)
        finally:
            self.stop.set()
            self.feed_link.interrupt()
            if feed is not None:
                feed.join(10)
            self.close()

    def _hold_feed(self) -> None:
        """The feed thread: a long poll always held on its own kept connection,
        asked again as soon as it ends; news is handed to the loop, and the next
        long poll waits until the loop has pulled it."""
        s = self.settings
        while not self.stop.is_set():
            try:
                reporter = self.reporter(self.feed_link)
                if reporter is None:
                    return  # no central_url: nothing to wait on
                changed = reporter.wait(self._wait_past, s["sync_longpoll_s"], self._feed_position)
            except NotSupported:
                log.info("central has no change notification; polling only")
                return
            except (Offline, Unauthorised) as e:
                if self.stop.is_set():
                    return
                log.info("change notification unavailable: %s", e)
                self.stop.wait(feed_retry_s(self.rng))
                continue
            if changed is None:
                continue
            self._taken.clear()
            self._announced = changed
            self._wake.set()
            # Asked again with the old version, the application's own wait (no
            # nginx) would answer at once: wait until the loop has pulled.
            self._taken.wait()
