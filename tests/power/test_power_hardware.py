"""On a real Raspberry Pi: the relay pin, edge-counted through a jumper, and the
Pi's own health sensors. Opt in (README, Operation -> Power -> Hardware tests):

    GATECAST_HARDWARE_TESTS=1 GATECAST_HARDWARE_RELAY_PIN=17 \\
    GATECAST_HARDWARE_LOOPBACK_PIN=27 .venv/bin/python -m pytest -m hardware

GATECAST_HARDWARE_RELAY_ACTIVE_HIGH=1 for an active-high relay. With a jumper
wire from the relay pin to the loopback pin, every edge the relay pin makes is
counted on the loopback input (lgpio edge detection sees pulses of a few
microseconds), so a start-up glitch cannot hide. Disconnect the screen's mains
from the relay first: the test clicks the relay.
"""

import os
import threading
import time
from pathlib import Path

import pytest

from kiosk.power.health import read_health
from kiosk.power.relay import ScreenRelay, on_raspberry_pi

pytestmark = pytest.mark.hardware

RELAY_PIN = int(os.environ.get("GATECAST_HARDWARE_RELAY_PIN", "17"))
LOOPBACK_PIN = os.environ.get("GATECAST_HARDWARE_LOOPBACK_PIN")
ACTIVE_HIGH = os.environ.get("GATECAST_HARDWARE_RELAY_ACTIVE_HIGH", "0") == "1"


@pytest.fixture
def pi_factory():
    if not on_raspberry_pi():
        pytest.fail("GATECAST_HARDWARE_TESTS=1 but this is not a Raspberry Pi")
    from gpiozero.pins.lgpio import LGPIOFactory

    factory = LGPIOFactory()
    yield factory
    factory.close()


class EdgeCounter:
    def __init__(self, factory):
        from gpiozero import DigitalInputDevice

        self.edges = []
        self._lock = threading.Lock()
        self.input = DigitalInputDevice(int(LOOPBACK_PIN), pull_up=None, active_state=True,
                                        pin_factory=factory)
        self.input.pin.when_changed = self._changed

    def _changed(self, ticks, state):
        with self._lock:
            self.edges.append(state)

    def close(self):
        self.input.close()


@pytest.mark.parametrize("start_on", [False, True])
def test_relay_starts_straight_in_its_state(pi_factory, start_on):
    counter = EdgeCounter(pi_factory) if LOOPBACK_PIN else None
    # Before the relay exists the pin is an input; note what the board leaves on it.
    relay = ScreenRelay(RELAY_PIN, active_high=ACTIVE_HIGH, initial_value=start_on,
                        pin_factory=pi_factory)
    try:
        time.sleep(0.2)
        assert relay.is_active is start_on
        level = relay.pin.state
        assert level == (start_on == ACTIVE_HIGH)
        if counter:
            assert counter.input.value == level
            # At most the one edge from the input's resting level to the wanted level.
            assert len(counter.edges) <= 1 and all(e == level for e in counter.edges)
            relay.toggle()
            time.sleep(0.2)
            assert counter.edges[-1] == (not level)
    finally:
        relay.close()
        if counter:
            counter.close()


def test_pi_health_sensors(tmp_path):
    h = read_health(tmp_path)
    assert h["cpu_temp_c"] is not None and 0 < h["cpu_temp_c"] < 110
    assert h["throttling"] is not None  # sysfs or vcgencmd
    assert h["memory"]["total_mb"] > 256 and h["uptime_s"] > 0
    assert h["clock_synced"] in (True, False)
    assert Path("/proc/device-tree/model").exists()


def test_controller_drives_the_real_pin(pi_factory, tmp_path):
    """The whole PowerController on a real pin: override off, then on, then the kill switch."""
    from kiosk.power.controller import PowerController
    from kiosk.power.service import blank_on, set_override
    from kiosk.settings import load_settings
    from kiosk.store import open_db

    (tmp_path / "g.toml").write_text("")
    face = {"id": 1, "output": "main", "relay_pin": RELAY_PIN, "relay_active_high": ACTIVE_HIGH}
    s = load_settings(config_file=tmp_path / "g.toml", state_dir=tmp_path, env={},
                      overrides={"faces": [face]})
    db = open_db(s.db_path)
    set_override(db, 1, "off", by="hardware test")
    c = PowerController(db, s, pin_factory=pi_factory)
    try:
        assert not c.update()[1].powered
        assert c.relays[1].pin.state == (not ACTIVE_HIGH)
        set_override(db, 1, "on", by="hardware test")
        assert c.update()[1].powered and c.relays[1].pin.state == ACTIVE_HIGH
        blank_on(db, by="hardware test", reason="test", power_off=True)
        out = c.update()[1]
        assert out.dark and not out.powered and c.relays[1].pin.state == (not ACTIVE_HIGH)
    finally:
        c.close()
        db.close()
