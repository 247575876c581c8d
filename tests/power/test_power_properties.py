"""Property: whatever the windows and overrides, a relay is never on while the
plan says off, and a face the plan wants on is on unless it waits for its
stagger slot. Checked at every loop call over a simulated day on MockFactory."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from gpiozero.pins.mock import MockFactory
from hypothesis import given, settings as hsettings, strategies as st

from kiosk.power.clock import FakeClock
from kiosk.power.controller import PowerController
from kiosk.power.evaluate import evaluate, load_plan
from kiosk.power.service import set_override, set_windows
from kiosk.settings import load_settings
from kiosk.store import open_db

from tests.support.power import MONDAY, TZ

FACES = [{"id": 1, "output": "main", "relay_pin": 5},
         {"id": 2, "output": "main", "relay_pin": 6, "relay_active_high": True}]

times = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 20, 40]))
windows = st.lists(st.fixed_dictionaries({"start": times, "end": times}), max_size=2)
overrides = st.lists(st.tuples(st.integers(0, 23 * 60), st.sampled_from([None, 1, 2]),
                               st.sampled_from(["on", "off"]), st.sampled_from([None, 30, 300])),
                     max_size=3)


@hsettings(max_examples=10, deadline=None)
@given(w1=windows, w2=windows, ovs=overrides, start_min=st.integers(0, 24 * 60 - 1))
def test_relays_follow_the_plan_and_never_switch_on_early(w1, w2, ovs, start_min):
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        (state / "g.toml").write_text("")
        s = load_settings(config_file=state / "g.toml", state_dir=state, env={},
                          overrides={"faces": FACES, "power_stagger_s": 2.0})
        db = open_db(s.db_path)
        set_windows(db, 1, w1, by="prop")
        set_windows(db, 2, w2, by="prop")
        clock = FakeClock(MONDAY + timedelta(minutes=start_min))
        c = PowerController(db, s, clock=clock, pin_factory=MockFactory())
        pending = sorted(ovs, key=lambda o: o[0])
        try:
            for step in range(24 * 60 // 5):  # every 5 minutes for a day
                minute = step * 5
                while pending and pending[0][0] <= minute:
                    _, face, state_, minutes = pending.pop(0)
                    set_override(db, face, state_, None if minutes is None else timedelta(minutes=minutes),
                                 by="prop", now=clock.now())
                out = c.update()
                plan, _ = load_plan(db)
                waiting = c.waiting_faces()
                for fid, o in out.items():
                    want = evaluate(plan, fid, clock.now(), TZ).on
                    assert not (o.powered and not want), (fid, clock.now())
                    assert o.powered == want or fid in waiting, (fid, clock.now())
                    assert o.dark == (not want)
                assert len(waiting) <= 1  # with 5-minute calls one slot clears each call
                clock.advance(minutes=5)
        finally:
            c.close()
            db.close()
