"""One rule for a schedule entry (kiosk.schedule_entry): the gate admin, kiosk.content,
a release from central and central's assignments refuse the same bad entry with the
same EntryError (code, field, parameters, English text) and store nothing; the
admin says it in Vietnamese."""

from __future__ import annotations

import json

import pytest

from central.assign import add_entry
from central.checks import CentralError
from central.library import save_playlist
from kiosk import content
from kiosk.mediastore import MediaStore
from kiosk.schedule import load_schedule
from kiosk.schedule_entry import MESSAGES, EntryError, check_entry
from kiosk.store import connect
from kiosk.sync import release
from kiosk.sync.release import ReleaseError

from tests.support.central import make_central
from tests.support.media import make_image
from tests.support.sync.gate import GATE_ID
from tests.support.sync.tufrepo import media_entry, release_doc

GOOD = {"name": "Giờ làm việc", "faces": [1], "weekdays": [0, 1, 2, 3, 4], "start_time": "08:00",
        "end_time": "17:00", "level": "normal", "start_date": None, "end_date": None}

# Bad entries every door takes (the admin's form has no not_before/not_after).
BAD = {
    "start 25:00": {"start_time": "25:00"},
    "end 24:30": {"end_time": "24:30"},
    "reversed dates": {"start_date": "2026-12-31", "end_date": "2026-12-01"},
    "no such date": {"start_date": "2026-02-30"},
    "weekday 7": {"weekdays": [0, 7]},
    "no weekday": {"weekdays": []},
    "unknown level": {"level": "urgent"},
    "face 9": {"faces": [9]},
}


def _same(err: EntryError, ref: EntryError) -> None:
    assert isinstance(err, EntryError), err
    assert (err.code, err.field) == (ref.code, ref.field)
    if ref.code == "unknown_face":
        # The gate admin knows its own faces; the others allow the four a gate can drive.
        assert err.params["value"] == ref.params["value"]
    else:
        assert err == ref and str(err) == str(ref)


@pytest.fixture
def doors(tmp_path):
    """Each door with a playlist the entries can name, and a row counter."""
    from admin import create_app

    picture = make_image(tmp_path / "p.png")
    # The gate: its admin app, and kiosk.content on the same database.
    state = tmp_path / "gate"
    state.mkdir()
    cfg = tmp_path / "gate.toml"
    cfg.write_text("")
    app = create_app({"STATE_DIR": str(state), "CONFIG_FILE": str(cfg), "TESTING": True})
    settings = app.extensions["gatecast_settings"]
    db = connect(settings.db_path)
    sha = content.add_media(db, MediaStore(settings.media_dir), picture)
    content.set_playlist(db, "l-p", "P", [(sha, None)])
    # Central.
    central = make_central(tmp_path / "central")
    central.gate("huu-nghi", faces=(1, 2))
    save_playlist(central.db, "p", "P", [(central.media(picture), None)])
    yield {"app": app, "settings": settings, "db": db, "central": central,
           "release_media": media_entry("a" * 64, b"x")}
    db.close()
    central.db.close()


def _count(db) -> int:
    """Entries in the gate's database or in central's store."""
    if hasattr(db, "count"):
        return db.count("schedule_entry")
    return db.execute("SELECT count(*) FROM schedule_entry").fetchone()[0]


@pytest.mark.parametrize("case", sorted(BAD))
def test_every_door_refuses_the_same_bad_entry_with_the_same_error(doors, case):
    from admin.services import Actor, AdminError
    from admin.services.schedule import entry_error_message, save_entry

    bad = {**GOOD, **BAD[case]}
    with pytest.raises(EntryError) as ref:
        check_entry(bad)
    ref = ref.value
    assert ref.code in MESSAGES
    gate_db, central_db = doors["db"], doors["central"].db
    gate_rows, central_rows = _count(gate_db), _count(central_db)

    # The gate admin (the service its form and JSON API call), in Vietnamese.
    with doors["app"].test_request_context(headers={"Accept-Language": "vi"}):
        with pytest.raises(AdminError) as admin_err:
            save_entry(gate_db, doors["settings"], Actor("chief", "admin"), None,
                       {**bad, "playlist_id": "l-p"})
        _same(admin_err.value.__cause__, ref)
        assert admin_err.value.field == ref.field
        assert admin_err.value.message == entry_error_message(admin_err.value.__cause__)
        assert admin_err.value.message != str(ref)  # translated, not the English text

    # kiosk.content (the demo, CLI and benches).
    with pytest.raises(EntryError) as content_err:
        content.add_schedule_entry(gate_db, "l-p", bad["faces"], bad["start_time"], bad["end_time"],
                                   bad["level"], bad["weekdays"], bad["start_date"], bad["end_date"],
                                   bad["name"])
    _same(content_err.value, ref)

    # Sync: a release from central carrying the entry is refused whole.
    doc = release_doc(GATE_ID, 2, [doors["release_media"]])
    doc["schedule_entries"][0].update(BAD[case])
    with pytest.raises(ReleaseError) as sync_err:
        release.parse(json.dumps(doc).encode(), GATE_ID)
    _same(sync_err.value.__cause__, ref)
    assert str(ref) in str(sync_err.value)

    # Central's assignments (its CLI, API and console call add_entry).
    with pytest.raises(CentralError) as central_err:
        add_entry(central_db, "gate", "huu-nghi", "p", **{k: v for k, v in bad.items()})
    _same(central_err.value.__cause__, ref)
    assert str(central_err.value) == str(ref)

    assert (_count(gate_db), _count(central_db)) == (gate_rows, central_rows)


def test_the_good_entry_passes_every_door_and_is_stored_alike(doors):
    from admin.services import Actor
    from admin.services.schedule import save_entry

    with doors["app"].test_request_context():
        saved = save_entry(doors["db"], doors["settings"], Actor("chief", "admin"), None,
                           {**GOOD, "start_time": "8:00", "playlist_id": "l-p"})
    entry_id = content.add_schedule_entry(doors["db"], "l-p", [1], "8:00", "17:00",
                                          weekdays=[0, 1, 2, 3, 4], name="Giờ làm việc")
    doc = release_doc(GATE_ID, 2, [doors["release_media"]])
    doc["schedule_entries"][0].update({**GOOD, "start_time": "08:00"})
    assert release.parse(json.dumps(doc).encode(), GATE_ID).version == 2
    cid = add_entry(doors["central"].db, "gate", "huu-nghi", "p", **{**GOOD, "start_time": "8:00"})
    central_row = doors["central"].db.query(
        "SELECT start_time, end_time, weekdays, faces FROM schedule_entry WHERE id = :id", {"id": cid})[0]
    gate_rows = doors["db"].execute(
        "SELECT start_time, end_time, weekdays, faces FROM schedule_entry WHERE id IN (?, ?)",
        [saved["id"], entry_id]).fetchall()
    # One spelling of the same entry everywhere: '8:00' is stored as '08:00'.
    assert {tuple(r) for r in gate_rows} == {tuple(central_row.values())} == \
        {("08:00", "17:00", "[0, 1, 2, 3, 4]", "[1]")}
    # And the engine reads both gate rows.
    assert {e.id for e in load_schedule(doors["db"]).entries} == {saved["id"], entry_id}


def test_check_entry_fills_defaults_and_spells_values_one_way():
    clean = check_entry({"faces": [2, 1, 2], "start_time": "6:00", "end_time": "24:00", "level": "priority",
                         "start_date": "2026-01-05", "not_after": "2026-01-05T08:00:00+07:00"})
    assert clean == {"name": "", "faces": [1, 2], "weekdays": [0, 1, 2, 3, 4, 5, 6],
                     "start_time": "06:00", "end_time": "24:00", "level": "priority",
                     "start_date": "2026-01-05", "end_date": None, "not_before": None,
                     "not_after": "2026-01-05T08:00:00.000+07:00"}
    assert check_entry({**GOOD, "start_time": "06:30:15"})["start_time"] == "06:30:15"


@pytest.mark.parametrize("change, code, field", [
    ({"faces": []}, "no_faces", "faces"),
    ({"faces": [True]}, "unknown_face", "faces"),
    ({"faces": "1,2"}, "no_faces", "faces"),  # a release or API body sends a JSON list
    ({"weekdays": ["1"]}, "weekday", "weekdays"),
    ({"start_time": None}, "time_of_day", "start_time"),
    ({"end_time": 800}, "end_time_of_day", "end_time"),
    ({"level": None}, "level", "level"),
    ({"not_before": "soon"}, "instant", "not_before"),
    ({"not_after": "2026-01-01T00:00"}, "instant_offset", "not_after"),
    ({"name": "Hữu\x1b[31mNghị"}, "name", "name"),
    ({"name": "x" * 201}, "name", "name"),
])
def test_check_entry_refusals_name_their_code_and_field(change, code, field):
    with pytest.raises(EntryError) as e:
        check_entry({**GOOD, **change})
    assert (e.value.code, e.value.field) == (code, field)
    assert "\x1b" not in str(e.value)


def test_forms_and_the_cli_may_send_numbers_as_text_and_central_may_leave_faces_empty():
    clean = check_entry({**GOOD, "faces": ["2", "1"], "weekdays": "0, 6"}, text_input=True)
    assert (clean["faces"], clean["weekdays"]) == ([1, 2], [0, 6])
    assert check_entry({**GOOD, "faces": None}, empty_faces_mean_all=True)["faces"] == []
    with pytest.raises(EntryError, match="at least one face"):
        check_entry({**GOOD, "faces": None})
    with pytest.raises(EntryError) as e:
        check_entry({**GOOD, "faces": [3]}, faces=[1, 2])
    assert e.value.params == {"value": "3", "faces": "1, 2"}


def test_the_admin_has_a_vietnamese_message_for_every_code(tmp_path):
    from admin import create_app
    from admin.services.schedule import entry_error_message

    cfg = tmp_path / "gatecast.toml"
    cfg.write_text("")
    (tmp_path / "state").mkdir()
    app = create_app({"STATE_DIR": str(tmp_path / "state"), "CONFIG_FILE": str(cfg), "TESTING": True})
    params = {"value": "x", "start": "2026-12-31", "end": "2026-12-01", "faces": "1, 2",
              "levels": "emergency, priority, normal", "limit": 200}
    with app.test_request_context(headers={"Accept-Language": "vi"}):
        for code in MESSAGES:
            err = EntryError(code, "f", **{k: v for k, v in params.items() if "{" + k in MESSAGES[code]})
            vi = entry_error_message(err)
            assert vi and vi != str(err), code
