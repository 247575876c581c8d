"""A signed release whose schedule entry breaks the schedule-entry rules
(kiosk.schedule_entry) is refused whole by a real pull, with the EntryError's
English text as the reason; the gate keeps the entries of its last-known-good."""

from __future__ import annotations

import pytest

from kiosk.schedule_entry import EntryError, check_entry

from tests.support.sync.gate import GATE_ID, Gate
from tests.support.sync.tufrepo import media_entry, release_doc

BAD = {
    "start 25:00": {"start_time": "25:00"},
    "reversed dates": {"start_date": "2026-12-31", "end_date": "2026-12-01"},
    "weekday 7": {"weekdays": [0, 7]},
    "face 5": {"faces": [5]},
    "faces as text": {"faces": "1,2"},
    "unknown level": {"level": "urgent"},
    "instant without offset": {"not_after": "2026-01-01T00:00:00"},
}


@pytest.fixture
def gate(tmp_path, repo, central):
    """A gate playing release 1: one entry, all day on face 1."""
    g = Gate(tmp_path / "gate", central.url, repo.root_bytes())
    data = b"good content " * 50
    g.good_media = media_entry(repo.add_media(data), data)
    repo.add_release(release_doc(GATE_ID, 1, [g.good_media]))
    repo.publish()
    assert g.pull().outcome == "activated"
    yield g
    g.close()


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_release_with_a_bad_entry_is_refused_with_the_entry_error(gate, repo, case):
    doc = release_doc(GATE_ID, 2, [gate.good_media])
    doc["schedule_entries"][0].update(BAD[case])
    with pytest.raises(EntryError) as expected:
        check_entry(doc["schedule_entries"][0])
    repo.add_release(doc)
    repo.publish()
    before = gate.central_rows("schedule_entry")
    result = gate.pull()
    assert (result.outcome, result.code) == ("failed", "bad_release"), result
    assert result.reason.endswith(f"schedule_entries[0]: {expected.value}"), result.reason
    assert gate.release()["version"] == 1
    assert gate.central_rows("schedule_entry") == before and len(before) == 1
