"""Fixtures for the power tests: a controllable clock whose monotonic time also
drives the mock pins' histories, and gpiozero's MockFactory."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from kiosk.power.clock import FakeClock

from tests.support.power import MONDAY


@pytest.fixture
def clock(monkeypatch):
    """A FakeClock at Monday 00:00 whose monotonic time also drives mock pin histories."""
    c = FakeClock(MONDAY)
    monkeypatch.setattr("gpiozero.pins.mock.monotonic", c.monotonic)
    return c


@pytest.fixture
def mock_factory(clock):
    factory = MockFactory()
    yield factory
    factory.close()
