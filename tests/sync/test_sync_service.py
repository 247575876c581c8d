"""The `gatecast sync` service loop: the change notification brings a new release
long before the poll interval, and one sync per state folder."""

from __future__ import annotations

import collections
import random

import pytest

from kiosk.settings import load_settings
from kiosk.store import get_state
from kiosk.sync.loop import AlreadyRunning, SyncService, feed_retry_s

from tests.support.sync.gate import GATE_ID, running_sync
from tests.support.sync.tufrepo import publish_release
from tests.support.wait import wait_for


@pytest.fixture
def service_settings():
    return {"sync_interval_s": 3600, "sync_heartbeat_interval_s": 3600, "sync_longpoll_s": 2}


@pytest.fixture
def running(gate, service_settings):
    """The service in a thread, with a poll interval far beyond the test's length."""
    settings = load_settings(config_file=gate.config_file, state_dir=gate.state_dir, env={},
                             overrides=service_settings)
    with running_sync(settings) as svc:
        yield svc

def active_version(gate):
    r = get_state(gate.db, "release")
    return r and r["version"]


def test_notification_brings_a_new_release_within_the_poll_interval(repo, central, gate, running):
    publish_release(repo, 1, [b"one" * 100])
    central.set_version(GATE_ID, 1)
    # The first pull happens at start.
    assert wait_for(lambda: active_version(gate) == 1)
    assert wait_for(lambda: any("/wait?version=1" in p for p in central.paths()))

    publish_release(repo, 2, [b"two" * 100], level="emergency")
    central.set_version(GATE_ID, 2)

    assert wait_for(lambda: active_version(gate) == 2)
    [entry] = gate.central_rows("schedule_entry")
    assert entry["level"] == "emergency"
    # And it went on waiting for the next change.
    assert wait_for(lambda: any("/wait?version=2" in p for p in central.paths()))
    assert len(central.heartbeats) == 1


@pytest.mark.parametrize("service_settings", [
    {"sync_interval_s": 3600, "sync_heartbeat_interval_s": 0.5, "sync_longpoll_s": 0}])
def test_without_long_poll_the_heartbeat_answer_brings_a_new_release(repo, central, gate, running):
    publish_release(repo, 1, [b"one" * 100])
    central.set_version(GATE_ID, 1)
    assert wait_for(lambda: active_version(gate) == 1)
    publish_release(repo, 2, [b"two" * 100])
    central.set_version(GATE_ID, 2)
    assert wait_for(lambda: active_version(gate) == 2)
    assert not any("/wait" in p for p in central.paths())


def test_only_one_sync_per_state_folder(gate):
    first = SyncService(gate.settings, gate.db)
    first.lock()
    try:
        with pytest.raises(AlreadyRunning):
            SyncService(gate.settings, gate.db).lock()
    finally:
        first.unlock()
    second = SyncService(gate.settings, gate.db)
    second.lock()
    second.unlock()


def test_a_gate_asks_the_feed_again_after_a_pause_spread_over_1_to_15_s():
    """When nginx restarts every gate's long poll drops at once: each comes back
    after its own pause, not the whole fleet at the same moment."""
    rng = random.Random(1)
    pauses = [feed_retry_s(rng, 15) for _ in range(2000)]
    assert 1 <= min(pauses) < 1.5 and 14.5 < max(pauses) <= 15
    per_second = collections.Counter(int(p) for p in pauses)
    assert max(per_second.values()) < 2000 * 0.1  # no second brings back a tenth
    assert feed_retry_s(rng, 0.5) == 1.0  # never sooner than a second
