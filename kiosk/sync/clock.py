"""Can the gate trust its own clock for metadata expiry?

TUF checks expiry against the system clock and takes no other time. A Raspberry Pi
has no battery clock: after a power cut it boots with the time it last saved (or
1970) until NTP corrects it. So the verdict "metadata expired" is only trusted once
the kernel reports the clock synchronised (adjtimex: not TIME_ERROR); before that,
an expiry failure is reported as possibly the clock's fault. Either way the screens
keep their last-known-good release. The central server's Date header is a second
opinion: a large difference is reported, never used to set the clock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from kiosk.power.health import clock_synced  # the one reader of the kernel's NTP state

# Beyond this the gate's clock and the server's disagree enough to say so.
SKEW_WARN_S = 300.0


@dataclass(frozen=True)
class ClockState:
    synchronised: bool | None  # None: the kernel could not say
    source: str  # ntp | setting
    expiry_trusted: bool
    server_skew_s: float | None = None  # local minus server Date, seconds
    skew_suspect: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def clock_state(
    policy: str,
    server_date: datetime | None = None,
    local_at_server_date: datetime | None = None,
) -> ClockState:
    """`policy` is the sync_clock setting: ntp | always | never."""
    skew = None
    if server_date is not None and local_at_server_date is not None:
        skew = round((local_at_server_date - server_date).total_seconds(), 1)
    suspect = skew is not None and abs(skew) > SKEW_WARN_S
    if policy == "always":
        return ClockState(True, "setting", True, skew, suspect)
    if policy == "never":
        return ClockState(False, "setting", False, skew, suspect)
    synced = clock_synced()
    return ClockState(synced, "ntp", bool(synced), skew, suspect)
