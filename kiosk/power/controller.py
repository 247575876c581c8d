"""What the player loop calls every iteration: decide each face's power, drive
its relay, and say which faces must be dark (show black, decode nothing).

Relays start straight in the state the plan wants (see relay.py). Switching on
is staggered (`power_stagger_s` apart) to limit the LED inrush current;
switching off never waits. Nothing here blocks: a face waiting for its
stagger slot is switched on by a later call.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from gpiozero.exc import GPIOZeroError

from kiosk.power.clock import SystemClock
from kiosk.power.evaluate import FacePower, evaluate, expired_overrides, load_plan
from kiosk.power.events import record
from kiosk.power.relay import ScreenRelay, choose_pin_factory
from kiosk.settings import Settings, faces as configured_faces
from kiosk.store import desired_revision, iso


REEVALUATE_S = 5.0


@dataclass(frozen=True)
class FaceOutput:
    """The answer for one face, for the player."""

    face: int
    powered: bool  # the relay is on (no relay: the plan wants power on)
    dark: bool  # show black and decode nothing: power off, or blanked
    blanked: bool
    decision: FacePower


class PowerController:
    """Owns the relays of every face. Create one per player process."""

    def __init__(self, db, settings: Settings, *, clock=None, pin_factory=None):
        self.db = db
        self.clock = clock or SystemClock()
        self.tz = ZoneInfo(settings["timezone"])
        self.stagger_s = float(settings["power_stagger_s"])
        self.faces = configured_faces(settings)
        self._face_ids = [f["id"] for f in self.faces]
        self._revision = None
        self._plan = None
        self._last_on: float | None = None  # monotonic time of the last relay switched on
        self._written: dict[int, tuple] = {}
        self._problems: set[str] = set()  # malformed rows already reported
        # Decisions hold until the earliest `until`, a desired-state change, or
        # REEVALUATE_S (a wall clock stepped back by NTP must not freeze them).
        self._decisions: dict[int, FacePower] | None = None
        self._valid_until = None
        self._decided_mono = 0.0
        self._reload()
        self.relays: dict[int, ScreenRelay] = {}
        self.relay_errors: dict[int, str] = {}
        if any(f.get("relay_pin") is not None for f in self.faces) and pin_factory is None:
            pin_factory, note = choose_pin_factory()
            if note:
                record(db, "warning", "relays_simulated", note)
        self._create_relays(pin_factory)

    # ---- start ----------------------------------------------------------

    def _create_relays(self, pin_factory) -> None:
        now = self.clock.now()
        for face in self.faces:
            pin = face.get("relay_pin")
            if pin is None:
                continue
            fid = face["id"]
            wanted = evaluate(self._plan, fid, now, self.tz).on
            # Only one face may start on at once; the others start off and
            # join in stagger slots (an off relay is never switched on early).
            start_on = wanted and self._last_on is None
            try:
                relay = ScreenRelay(pin, active_high=bool(face.get("relay_active_high", False)),
                                    initial_value=start_on, pin_factory=pin_factory)
            except GPIOZeroError as e:
                # Power control of the other faces and playback go on.
                self.relay_errors[fid] = f"relay on GPIO{pin}: {e}"
                record(self.db, "error", "relay_failed", self.relay_errors[fid],
                       face_id=fid, detail={"pin": pin})
                continue
            self.relays[fid] = relay
            if start_on:
                self._last_on = self.clock.monotonic()
                self._log_switch(fid, True, "start")

    # ---- every iteration ------------------------------------------------

    def _reload(self) -> bool:
        rev = desired_revision(self.db)
        if rev == self._revision:
            return False
        self._plan, problems = load_plan(self.db)
        self._revision = rev
        for p in sorted(set(problems) - self._problems):
            record(self.db, "error", "bad_power_row", p, detail={"problem": p})
        self._problems = set(problems)
        return True

    def _clean_expired(self, now) -> None:
        gone = expired_overrides(self._plan, self._face_ids, now, self.tz)
        if not gone:
            return
        for o in gone:
            self.db["power_override"].delete_where("id = ?", [o.id])
            who = "every face" if o.face_id is None else f"face {o.face_id}"
            record(self.db, "info", "override_expired",
                   f"power {o.state} override for {who} expired", face_id=o.face_id,
                   detail={"override_id": o.id, "by": o.created_by, "reason": o.reason,
                           "state": o.state})
        self._reload()

    def _decide(self) -> dict[int, FacePower]:
        changed = self._reload()
        now, mono = self.clock.now(), self.clock.monotonic()
        if (changed or self._decisions is None or mono - self._decided_mono >= REEVALUATE_S
                or (self._valid_until is not None and now >= self._valid_until)):
            self._clean_expired(now)
            self._decisions = {fid: evaluate(self._plan, fid, now, self.tz)
                               for fid in self._face_ids}
            ends = [d.until for d in self._decisions.values() if d.until is not None]
            self._valid_until = min(ends) if ends else None
            self._decided_mono = mono
        return self._decisions

    def update(self) -> dict[int, FaceOutput]:
        """Reconcile relays to the plan now; return every face's answer.

        Cheap when nothing changed (one revision query): the player calls it
        on every loop pass."""
        decisions = self._decide()
        for fid, d in decisions.items():
            relay = self.relays.get(fid)
            if relay is not None and not d.on and relay.is_active:
                relay.off()
                self._log_switch(fid, False, d.source)
        self._switch_on_next(decisions)
        outputs = {}
        for fid, d in decisions.items():
            relay = self.relays.get(fid)
            powered = relay.is_active if relay is not None else d.on
            outputs[fid] = FaceOutput(fid, powered, d.dark, d.blanked, d)
        self._write_state(outputs)
        return outputs

    def _switch_on_next(self, decisions: dict[int, FacePower]) -> None:
        mono = self.clock.monotonic()
        if self._last_on is not None and mono - self._last_on < self.stagger_s:
            return
        for fid in self._face_ids:
            relay = self.relays.get(fid)
            if relay is not None and decisions[fid].on and not relay.is_active:
                relay.on()
                self._last_on = mono
                self._log_switch(fid, True, decisions[fid].source)
                return

    def waiting_faces(self) -> list[int]:
        """Faces whose relay waits for a stagger slot (for status and tests)."""
        decisions = self._decide()
        return [fid for fid, r in self.relays.items() if not r.is_active and decisions[fid].on]

    def _log_switch(self, fid: int, on: bool, source: str) -> None:
        record(self.db, "info", "relay_on" if on else "relay_off",
               f"face {fid} relay switched {'on' if on else 'off'} ({source})", face_id=fid,
               detail={"source": source})

    def _write_state(self, outputs: dict[int, FaceOutput]) -> None:
        for fid, out in outputs.items():
            power = "unknown" if fid in self.relay_errors else ("on" if out.powered else "off")
            row = (power, int(out.blanked))
            if self._written.get(fid) == row:
                continue
            self.db["face_state"].upsert(
                {"face_id": fid, "power": power, "blanked": int(out.blanked),
                 "updated_at": iso(self.clock.now())},
                pk="face_id",
            )
            self._written[fid] = row

    def close(self) -> None:
        """Release the pins. gpiozero returns them to inputs: the relay board's
        own pull resistor then decides (README, Operation -> Power), so the
        relay state is reported as unknown until the next start."""
        for fid, relay in self.relays.items():
            relay.close()
            self.db["face_state"].upsert({"face_id": fid, "power": "unknown",
                                          "updated_at": iso(self.clock.now())}, pk="face_id")
        self.relays.clear()
        self._written.clear()
