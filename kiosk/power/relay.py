"""The screen-power relay: a gpiozero output device, and choosing its pin factory.

Active-low relay boards (common: the input is pulled up on the board and a low
pin switches the relay on) must never see a low pin by accident. A relay is
therefore always created with the state it should have (`initial_value` True
or False, never None: None would leave the pin low and switch such a relay on),
and gpiozero sets the pin's direction and level in one step.
"""

from __future__ import annotations

import os
from pathlib import Path

from gpiozero import DigitalOutputDevice
from gpiozero.exc import BadPinFactory


class ScreenRelay(DigitalOutputDevice):
    """A relay switching the mains power of one face.

    `is_active` is True while the face is powered, whatever the wiring
    (`active_high=False` for relays that switch on when the pin is low).
    `initial_value` must be True or False: the state the face should have now.
    """

    def __init__(self, pin, *, active_high=False, initial_value, pin_factory=None):
        if initial_value is None:
            raise ValueError("a screen relay needs an explicit initial state (True or False)")
        super().__init__(pin, active_high=active_high, initial_value=bool(initial_value),
                         pin_factory=pin_factory)


def on_raspberry_pi(model_file: Path = Path("/proc/device-tree/model")) -> bool:
    try:
        return "raspberry pi" in model_file.read_text(errors="replace").lower()
    except OSError:
        return False


def choose_pin_factory(env=None, on_pi=None):
    """The pin factory, chosen the gpiozero way, plus a note for the operator.

    GPIOZERO_PIN_FACTORY wins (`mock` in the demo and the tests, `lgpio` on a
    Pi). Without it, on a Raspberry Pi gpiozero picks its default (lgpio); off
    a Pi there are no pins to drive, so relays are simulated with gpiozero's
    MockFactory and the note says so. Returns (factory or None, note or "").
    None means "gpiozero's default".
    """
    env = os.environ if env is None else env
    if env.get("GPIOZERO_PIN_FACTORY"):
        return None, ""
    if on_pi is None:
        on_pi = on_raspberry_pi()
    if on_pi:
        return None, ""
    from gpiozero.pins.mock import MockFactory

    return MockFactory(), "not a Raspberry Pi and GPIOZERO_PIN_FACTORY unset: relays are simulated"


__all__ = ["ScreenRelay", "choose_pin_factory", "on_raspberry_pi", "BadPinFactory"]
