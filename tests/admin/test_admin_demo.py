"""`gatecast demo` runs the admin beside the player and says how to log in."""

from __future__ import annotations

import os
import signal
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from admin.demo import demo_services
from kiosk.demo import DemoContext, run_services
from kiosk.store import open_db

from tests.support.wait import wait_for

pytestmark = pytest.mark.slow


def test_demo_admin_service_serves_and_explains_the_first_account(tmp_path):
    config = tmp_path / "gatecast.toml"
    config.write_text("")
    ctx = DemoContext(tmp_path / "state", config, False, Path(sys.executable).parent)
    open_db(tmp_path / "state" / "gatecast.db").close()  # as `gatecast demo` does before its services
    services = demo_services(ctx)
    assert [s.name for s in services] == ["admin"]
    url = services[0].note
    assert url.startswith("http://127.0.0.1:")
    assert any("create-user" in n and url in n for n in ctx.notes)
    answers = []

    def answer():
        try:
            with urllib.request.urlopen(url + "health", timeout=5) as r:
                health = (r.status, r.read())
            with urllib.request.urlopen(url, timeout=5) as r:  # no account: the setup page
                return health, r.geturl()
        except OSError:
            return None

    def probe():
        try:
            answers.append(wait_for(answer, 90, "the demo's admin to answer"))
        except AssertionError:
            pass  # no answer: the assertions below say so
        finally:
            # run_services stops everything on SIGTERM, as it would on Ctrl-C.
            os.kill(os.getpid(), signal.SIGTERM)

    prober = threading.Thread(target=probe)
    prober.start()
    # run_services installs signal handlers, so it must run in the main thread.
    status = run_services(services, duration=120, echo=lambda *_: None)
    prober.join(timeout=10)
    assert status == 0
    (code, body), final_url = answers[0]
    assert code == 200 and b'"ok"' in body
    assert final_url.endswith("/setup")
