"""sd_notify over a real unix datagram socket."""

import os
import socket

import pytest

from kiosk.power.clock import FakeClock
from kiosk.power.watchdog import Notifier

from tests.support.power import MONDAY


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(5)
    yield path, s
    s.close()


def received(sock):
    sock.setblocking(False)
    got = []
    try:
        while True:
            got.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    sock.settimeout(5)
    return got


def test_ready_and_pings_at_half_the_period(notify_socket):
    path, sock = notify_socket
    clock = FakeClock(MONDAY)
    n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000"}, clock=clock)
    assert n.enabled and n.interval == 2.0
    assert n.ready("2 faces")
    assert sock.recv(4096) == b"READY=1\nSTATUS=2 faces"
    assert n.ping() and not n.ping()  # the second is not due yet
    clock.advance(1.9)
    assert not n.ping()
    clock.advance(0.1)
    assert n.ping()
    assert received(sock) == ["WATCHDOG=1", "WATCHDOG=1"]


def test_abstract_socket(tmp_path):
    name = f"gatecast-test-{os.getpid()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(5)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).stopping()
        assert s.recv(100) == b"STOPPING=1"
    finally:
        s.close()


def test_without_systemd_everything_is_a_no_op(tmp_path):
    n = Notifier({})
    assert not n.enabled and not n.ready() and not n.ping()
    # A watchdog meant for another process (WATCHDOG_PID) is not ours to feed.
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "x"), "WATCHDOG_USEC": "1000000",
                  "WATCHDOG_PID": "1"})
    assert n.interval is None and not n.ping()
    assert not n.notify("READY=1")  # a dead socket is not an error
