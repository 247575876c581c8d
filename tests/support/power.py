"""Helpers shared by the power tests: the gate's time zone and a Monday to start
from, settings with relays, reading mock pins. The fixtures (`clock`, `mock_factory`)
are in tests/power/conftest.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gpiozero.pins.mock import PinState

from kiosk.settings import load_settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Monday 1 June 2026, midnight at the gate.
MONDAY = datetime(2026, 6, 1, 0, 0, tzinfo=TZ)

RELAY_FACES = [
    {"id": 1, "name": "North", "output": "main", "relay_pin": 17},  # active-low (default)
    {"id": 2, "name": "South", "output": "main", "relay_pin": 27, "relay_active_high": True},
    {"id": 3, "name": "No relay", "output": "main"},
]


def relay_settings(state_dir, tmp_path, faces=RELAY_FACES, **overrides):
    cfg = tmp_path / "gatecast.toml"
    cfg.write_text("")
    return load_settings(config_file=cfg, state_dir=state_dir, env={},
                         overrides={"faces": faces, **overrides})


def pulled_up(factory, number):
    """A pin as an active-low relay board leaves it at boot: an input held high
    by the board's pull-up (relay off). Its history starts here."""
    pin = factory.pin(number)
    pin.drive_high()
    pin.clear_states()
    return pin


def pulled_down(factory, number):
    """A pin as the Pi leaves BCM 9-27 at boot: an input pulled low."""
    pin = factory.pin(number)
    pin.drive_low()
    pin.clear_states()
    return pin


def walk(controller, clock, until: datetime, step: float):
    """Call controller.update() every `step` seconds of simulated time up to `until`."""
    outputs = controller.update()
    while clock.now() < until:
        remaining = (until - clock.now()).total_seconds()
        clock.advance(min(step, remaining))
        outputs = controller.update()
    return outputs


def history(pin):
    """A pin's whole state history as (seconds since previous change, state)."""
    return [(round(s.timestamp, 3), s.state) for s in pin.states]


def at(hh, mm=0, ss=0, day=0):
    return MONDAY + timedelta(days=day, hours=hh, minutes=mm, seconds=ss)


__all__ = ["TZ", "MONDAY", "RELAY_FACES", "relay_settings",
           "pulled_up", "pulled_down", "walk", "history", "at", "PinState"]
