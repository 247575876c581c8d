"""What the admin and the heartbeat show about sync: the `sync` state key and events.

`sync` holds the last pull's outcome and, when it failed, the code and the reason
in words, plus the versions (offered by central / playing on the screens), the
clock verdict and what the last poll cost. An event is written when the outcome
changes (a new failure, a different failure, recovery, an activation), not at every
poll, so a week offline does not bury the event log.
"""

from __future__ import annotations

from typing import Any

from kiosk.store import get_state, iso, log_event, set_state, utcnow
from kiosk.sync.pull import PullResult

SYNC_KEY = "sync"


def record_pull(db, result: PullResult) -> dict[str, Any]:
    prev = get_state(db, SYNC_KEY) or {}
    now = iso(utcnow())
    failed = not result.ok
    state = {
        **prev,
        "status": "failed" if failed else result.outcome,
        "code": result.code,
        "reason": result.reason,
        "last_attempt_at": now,
        "last_success_at": prev.get("last_success_at") if failed else now,
        "failing_since": (prev.get("failing_since") or now) if failed else None,
        "consecutive_failures": (prev.get("consecutive_failures", 0) + 1) if failed else 0,
        # Newest version seen at central (refused or not) and the one on screens.
        "offered_version": result.offered_version
        if result.offered_version is not None else prev.get("offered_version"),
        "last_good_release_version": result.active_version,
        "last_poll": {"requests": result.requests, "bytes": result.bytes,
                      "duration_s": result.duration_s},
        "clock": result.clock.as_dict() if result.clock else prev.get("clock"),
    }
    if not failed and state["offered_version"] is not None and result.active_version is not None:
        state["offered_version"] = max(state["offered_version"], result.active_version)
    set_state(db, SYNC_KEY, state)

    keeps = (f"; screens keep release {result.active_version}"
             if result.active_version is not None else "; screens keep their local content")
    if failed and (prev.get("code") != result.code or prev.get("status") != "failed"):
        level = "warning" if result.code in ("network", "not_configured") else "error"
        log_event(db, "sync", level, f"sync_{result.code}", result.reason + keeps,
                  detail={"offered_version": result.offered_version})
    elif not failed and prev.get("status") == "failed":
        log_event(db, "sync", "info", "sync_recovered",
                  f"sync works again (failed {prev.get('consecutive_failures', 1)} time(s) "
                  f"since {prev.get('failing_since')})")
    if result.outcome == "activated":
        log_event(db, "sync", "info", "release_activated", result.reason,
                  detail={"version": result.active_version, "media_downloaded": result.downloaded_media,
                          "evicted": result.evicted_media})
    if result.clock and result.clock.skew_suspect and not (prev.get("clock") or {}).get("skew_suspect"):
        log_event(db, "sync", "warning", "clock_skew",
                  f"this gate's clock and central's differ by {result.clock.server_skew_s:.0f} s",
                  detail={"skew_s": result.clock.server_skew_s})
    return state


def sync_state(db) -> dict[str, Any]:
    return get_state(db, SYNC_KEY) or {}
