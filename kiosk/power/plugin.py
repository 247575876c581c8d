"""Power control inside the player loop, through the player's plugin seam
(kiosk.player.plugins): relays, dark faces, health, systemd watchdog.

The player asks `dark_faces` after every desired-state change (a blank or an
override bumps the revision, so the kill switch reaches the screens within a
poll interval), at `recheck_at` (the next power boundary) and every few
seconds. `tick` runs on every loop pass: it fills stagger slots, samples
health when due and feeds the watchdog, so a hung loop stops the pings and
systemd restarts the player.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.player.plugins import DarkFaces, PlayerPlugin
from kiosk.power.controller import FaceOutput, PowerController
from kiosk.power.health import HealthMonitor
from kiosk.power.watchdog import Notifier


def dark_reason(out: FaceOutput) -> str:
    d = out.decision
    if d.source == "central_blank":
        return "blanked from central"
    if d.blanked:
        return "blanked" + (" (power off)" if not d.on else "")
    return f"power off ({d.source})"


class PowerPlugin(PlayerPlugin):
    def __init__(self, ctx, *, clock=None, pin_factory=None, notifier=None, health=None):
        super().__init__(ctx)
        self.controller = PowerController(ctx.db, ctx.settings, clock=clock,
                                          pin_factory=pin_factory)
        self.health = health or HealthMonitor(ctx.db, ctx.settings, clock=clock)
        self.notifier = notifier or Notifier()
        self.outputs = self.controller.update()
        self._reported: dict[int, str] | None = None  # the dark faces the player last got
        self._ready = False
        self._status = None

    def _dark(self) -> dict[int, str]:
        return {fid: dark_reason(o) for fid, o in self.outputs.items() if o.dark}

    def dark_faces(self, now: datetime) -> DarkFaces:
        self.outputs = self.controller.update()
        ends = [o.decision.until for o in self.outputs.values() if o.decision.until is not None]
        self._reported = self._dark()
        return DarkFaces(dict(self._reported), min(ends) if ends else None)

    def tick(self, now: datetime) -> None:
        self.outputs = self.controller.update()
        if self._reported is not None and self._dark() != self._reported:
            # Changed without a database write the player would notice (a
            # boundary passed between rechecks): ask for a reconcile now.
            self.ctx.request_reconcile()
        self.health.maybe_sample()
        status = self._status_line()
        if not self._ready:
            self._ready = self.notifier.ready(status) or not self.notifier.enabled
        elif status != self._status:
            self.notifier.status(status)
        self._status = status
        self.notifier.ping()

    def _status_line(self) -> str:
        parts = []
        for fid, o in sorted(self.outputs.items()):
            parts.append(f"face {fid} {'dark' if o.dark else 'showing'}"
                         f"{', power on' if o.powered else ', power off'}")
        return "; ".join(parts)

    def close(self) -> None:
        self.notifier.stopping()
        self.controller.close()
