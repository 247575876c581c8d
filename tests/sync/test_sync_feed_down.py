"""A gate whose change feed is down (nginx's nchan answering 5xx, or holding
the connection without a word) still gets every release, by its poll interval,
and keeps its unchanged poll as small as ever."""

from __future__ import annotations

import time

import pytest

from kiosk.store import get_state

from tests.support.sync.faultproxy import Fault, FaultProxy
from tests.support.sync.gate import GATE_ID, Gate, running_sync
from tests.support.sync.tufrepo import publish_release
from tests.support.wait import wait_for


def active_version(gate):
    r = get_state(gate.db, "release")
    return r and r["version"]


@pytest.mark.parametrize("fault", ["http500", "stall"])
def test_a_gate_falls_back_to_polling_when_the_feed_is_down(tmp_path, repo, central, fault):
    proxy = FaultProxy(central.url)
    wait_path = f"/api/v1/gates/{GATE_ID}/wait"
    proxy.add(Fault(fault, path=wait_path, seconds=120, times=10**6))
    gate = Gate(tmp_path / "gate", proxy.url, repo.root_bytes(), sync_interval_s=4.0,
                sync_heartbeat_interval_s=3600.0, sync_longpoll_s=2.0)
    try:
        publish_release(repo, 1, [b"one" * 100])
        central.set_version(GATE_ID, 1)
        with running_sync(gate.settings, join_timeout=60):
            wait_for(lambda: active_version(gate) == 1, 60, "release 1")
            wait_for(lambda: any(p.startswith(wait_path) for _, p, _ in proxy.log), 60,
                     "the gate trying the feed")
            publish_release(repo, 2, [b"two" * 100], level="emergency")
            central.set_version(GATE_ID, 2)
            # The feed never answers; the poll interval (4 s +-20%) brings it.
            wait_for(lambda: active_version(gate) == 2, 90, "release 2 by polling")
            tries = sum(p.startswith(wait_path) for _, p, _ in proxy.log)
            assert tries >= 1
            # And it keeps trying the feed, without hammering it.
            time.sleep(3)
            later = sum(p.startswith(wait_path) for _, p, _ in proxy.log)
            assert later - tries <= 10
        assert central.paths(), "the double saw the pulls"
    finally:
        gate.close()
        proxy.close()
