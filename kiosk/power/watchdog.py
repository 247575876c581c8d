"""systemd notification (Type=notify, WatchdogSec=) without a dependency.

The player says READY=1 once its faces are up and WATCHDOG=1 from its loop
while the loop is healthy; if the loop hangs, the pings stop and systemd
restarts the player. Outside systemd ($NOTIFY_SOCKET unset) every call is a
no-op. Protocol: sd_notify(3).
"""

from __future__ import annotations

import os
import socket
from typing import Mapping


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None, clock=None):
        from kiosk.power.clock import SystemClock

        env = os.environ if env is None else env
        self.clock = clock or SystemClock()
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace socket
            address = "\0" + address[1:]
        self.address = address or None
        self.interval = self._watchdog_interval(env)
        self._last_ping: float | None = None

    @staticmethod
    def _watchdog_interval(env: Mapping[str, str]) -> float | None:
        """Seconds between pings: half of WatchdogSec, as sd_watchdog_enabled(3) advises."""
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            return int(usec) / 1e6 / 2
        except ValueError:
            return None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, message: str) -> bool:
        """Send one datagram; a missing or dead socket is not an error for the player."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(self.address)
                s.sendall(message.encode())
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def ping(self) -> bool:
        """WATCHDOG=1, at most every half watchdog period; call it every healthy loop turn."""
        if self.address is None or self.interval is None:
            return False
        mono = self.clock.monotonic()
        if self._last_ping is not None and mono - self._last_ping < self.interval:
            return False
        self._last_ping = mono
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")
