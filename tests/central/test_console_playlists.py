"""Playlists edited in place on the Assignments page (issue 12): reorder
(up/down buttons that need no JavaScript, and a move to any place), each
item's own seconds, add and remove items, rename, delete — refused in words
that name where it is used while a schedule entry, a fallback or a live
emergency uses it. A form shown before someone else changed the playlist is
refused with nothing stored. Every change is audited and reaches the gates
only through a publication. On both stores."""

from __future__ import annotations

import json

import pytest

from central import assign
from central.checks import CentralError
from central.fleet import add_group
from central.library import get_playlist, save_playlist
from central.publish import current_release

from tests.support.console import Console, make_user
from tests.support.media import make_image


@pytest.fixture
def desk(central, tmp_path):
    central.gate("huu-nghi", faces=(1, 2), name="Cửa khẩu Hữu Nghị")
    add_group(central.db, "lang-son", "Lạng Sơn", ["huu-nghi"])
    central.shas = [central.media(make_image(tmp_path / f"{n}.png", color=c), approve=True)
                    for n, c in (("red", (220, 20, 20)), ("green", (20, 160, 20)),
                                 ("blue", (20, 20, 220)))]
    central.pid = save_playlist(central.db, "chao-mung", "Chào mừng",
                                [(sha, 5.0) for sha in central.shas], by="test")
    return central


def items(db, pid) -> list[tuple[str, float | None]]:
    return [(i["media_sha256"], i["duration_s"]) for i in get_playlist(db, pid)["items"]]


def version(db, pid) -> str:
    return assign.playlist_version(get_playlist(db, pid))


def stored(db, pid):
    p = get_playlist(db, pid)
    return p["name"], items(db, pid)


def test_each_change_applies_to_the_playlist_as_shown_and_is_audited(desk):
    db, pid = desk.db, desk.pid
    red, green, blue = desk.shas
    assign.move_item(db, pid, version(db, pid), 2, 0, by="minh")
    assert [s for s, _ in items(db, pid)] == [blue, red, green]
    assign.move_item(db, pid, version(db, pid), 0, 99, by="minh")  # beyond the end: last
    assert [s for s, _ in items(db, pid)] == [red, green, blue]
    assign.set_item_duration(db, pid, version(db, pid), 1, "7,5", by="minh")
    assign.set_item_duration(db, pid, version(db, pid), 0, "", by="minh")
    assert items(db, pid) == [(red, None), (green, 7.5), (blue, 5.0)]
    assign.remove_item(db, pid, version(db, pid), 2, by="minh")
    assign.add_item(db, pid, version(db, pid), blue, "3", by="minh")
    assign.rename_playlist(db, pid, version(db, pid), "  Chào mừng du khách ", by="minh")
    assert stored(db, pid) == ("Chào mừng du khách", [(red, None), (green, 7.5), (blue, 3.0)])
    actions = [r["action"] for r in db.query(
        "SELECT action FROM audit WHERE who = 'minh' ORDER BY id")]
    assert actions == ["playlist.move", "playlist.move", "playlist.duration",
                       "playlist.duration", "playlist.remove_item", "playlist.add_item",
                       "playlist.rename"]


def test_bad_input_and_a_stale_form_store_nothing(desk):
    db, pid = desk.db, desk.pid
    shown = version(db, pid)
    before = stored(db, pid)
    audits = db.count("audit")
    for call in (lambda: assign.set_item_duration(db, pid, shown, 0, "0"),
                 lambda: assign.set_item_duration(db, pid, shown, 0, "abc"),
                 lambda: assign.set_item_duration(db, pid, shown, 0, "86401"),
                 lambda: assign.move_item(db, pid, shown, 5, 0),
                 lambda: assign.remove_item(db, pid, shown, -1),
                 lambda: assign.rename_playlist(db, pid, shown, "   "),
                 lambda: assign.rename_playlist(db, pid, shown, "a\x07b"),
                 lambda: assign.add_item(db, pid, shown, "0" * 64)):
        with pytest.raises(CentralError):
            call()
    assert stored(db, pid) == before and db.count("audit") == audits

    # Someone else moves an item; a form shown before that is refused.
    assign.move_item(db, pid, shown, 0, 2, by="lan")
    after = stored(db, pid)
    for call in (lambda: assign.remove_item(db, pid, shown, 0),
                 lambda: assign.move_item(db, pid, shown, 1, 0),
                 lambda: assign.set_item_duration(db, pid, shown, 0, "9"),
                 lambda: assign.rename_playlist(db, pid, shown, "Khác"),
                 lambda: assign.delete_playlist(db, pid, shown)):
        with pytest.raises(assign.StalePlaylist):
            call()
    assert stored(db, pid) == after

    # The last item cannot go: the playlist would be empty.
    for _ in range(2):
        assign.remove_item(db, pid, version(db, pid), 0)
    with pytest.raises(CentralError, match="at least one item"):
        assign.remove_item(db, pid, version(db, pid), 0)
    assert len(items(db, pid)) == 1


def test_delete_is_refused_while_used_and_names_where(desk):
    from central.publish import publish_emergency

    db, pid = desk.db, desk.pid
    eid = assign.add_entry(db, "gate", "huu-nghi", pid, name="Cả ngày")
    fid = assign.set_fallback(db, "group", "lang-son", pid, 2)
    with pytest.raises(CentralError) as refused:
        assign.delete_playlist(db, pid, version(db, pid))
    said = str(refused.value)
    assert "Cả ngày" in said and "Cửa khẩu Hữu Nghị" in said and "Lạng Sơn" in said
    assign.remove(db, "schedule_entry", eid)
    assign.remove(db, "fallback", fid)

    # A live emergency plays it: no edit (it would reach the gates at the next
    # re-signing without a publication) and no delete.
    make_user(db, "truc", "operator")
    emergency, _ = publish_emergency(db, desk.repo, ["gate:huu-nghi"], by="truc",
                                     reason="Lũ quét", minutes=30, playlist_id=pid)
    for call in (lambda: assign.move_item(db, pid, version(db, pid), 0, 1),
                 lambda: assign.delete_playlist(db, pid, version(db, pid)),
                 lambda: save_playlist(db, pid, "Khác", [(desk.shas[0], 1.0)])):
        with pytest.raises(CentralError, match="Lũ quét"):
            call()
    from central.publish import cancel_emergency

    cancel_emergency(db, desk.repo, emergency, by="truc", reason="Đã thông đường")
    # Ended: the emergency forgets the playlist, which goes.
    assert assign.delete_playlist(db, pid, version(db, pid), by="minh") == "Chào mừng"
    assert db.count("playlist") == 0 and db.count("playlist_item") == 0
    assert db.scalar(f"SELECT playlist_id FROM emergency WHERE id = '{emergency}'") is None
    [row] = db.query("SELECT detail FROM audit WHERE action = 'playlist.delete'")
    assert json.loads(row["detail"])["name"] == "Chào mừng"


def test_an_edit_is_pending_work_published_only_through_publication(desk):
    db, pid = desk.db, desk.pid
    red, green, blue = desk.shas
    assign.add_entry(db, "gate", "huu-nghi", pid)
    desk.publish()
    shipped = current_release(db, "huu-nghi")
    assign.move_item(db, pid, version(db, pid), 2, 0, by="minh")
    assert current_release(db, "huu-nghi") == shipped  # nothing goes out by itself
    desk.publish()
    doc = json.loads(current_release(db, "huu-nghi")["document"])
    [playlist] = doc["playlists"]
    assert [i["media_sha256"] for i in playlist["items"]] == [blue, red, green]


def test_the_playlist_page_in_the_console(desk, console_app):
    db, pid = desk.db, desk.pid
    red, green, blue = desk.shas
    make_user(db, "minh", "editor")
    make_user(db, "xem", "viewer")
    c = Console(console_app)
    c.login("minh")
    assert f'href="/assignments/playlists/{pid}"' in c.text("/assignments/")
    page = c.text(f"/assignments/playlists/{pid}")
    shown = version(db, pid)
    assert f'value="{shown}"' in page and "Chưa có mục lịch" in page  # used nowhere yet

    def post(path, data):
        return c.post(f"/assignments/playlists/{pid}{path}", {"version": shown, **data})

    # Down, without JavaScript: a plain form with the button's value.
    r = post("/items/0", {"do": "down"})
    assert r.status_code == 302
    assert [s for s, _ in items(db, pid)] == [green, red, blue]
    assert "Đã lưu thứ tự" in c.text(f"/assignments/playlists/{pid}")

    # The same (now stale) page again: refused in words, nothing stored.
    before = stored(db, pid)
    r = post("/items/2", {"do": "remove"})
    body = r.get_data(as_text=True)
    assert r.status_code == 409 and "đã sửa danh sách phát" in body and "không lưu" in body
    assert stored(db, pid) == before
    shown = version(db, pid)
    r = post("/items/1", {"do": "duration", "seconds": "mười"})
    assert r.status_code == 400 and "86400" in r.get_data(as_text=True)
    r = post("/items/1", {"do": "duration", "seconds": "12"})
    assert r.status_code == 302 and items(db, pid)[1] == (red, 12.0)
    shown = version(db, pid)
    r = post("/name", {"name": "Chào mừng du khách"})
    assert r.status_code == 302 and get_playlist(db, pid)["name"] == "Chào mừng du khách"

    # Delete while used: refused, naming the entry and the gate.
    assign.add_entry(db, "gate", "huu-nghi", pid, name="Cả ngày")
    # The gate's page links the entry's playlist to its page.
    assert f'href="/assignments/playlists/{pid}"' in c.text("/assignments/gate/huu-nghi")
    shown = version(db, pid)
    r = post("/delete", {})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "Cả ngày" in body and "Cửa khẩu Hữu Nghị" in body
    assert "vẫn đang được dùng" in body and db.count("playlist") == 1

    # Without the CSRF token nothing is accepted; a viewer may only look.
    assert c.post(f"/assignments/playlists/{pid}/items/0", {"do": "up"},
                  csrf=False).status_code == 400
    viewer = Console(console_app)
    viewer.login("xem")
    assert 'name="version"' not in viewer.text(f"/assignments/playlists/{pid}")
    assert viewer.post(f"/assignments/playlists/{pid}/items/0",
                       {"do": "up", "version": shown}).status_code == 403
    assert stored(db, pid)[1][0][0] == green

    # Making a playlist never replaces one: the same name is refused, the old one kept.
    before = stored(db, pid)
    r = c.post("/assignments/playlists", {"name": "Chào mừng", "item": f"{blue}:image",
                                          "seconds": "4"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "Đã có danh sách phát" in body
    assert stored(db, pid) == before
    r = c.post("/assignments/playlists", {"name": "Trống", "seconds": "4"})
    assert r.status_code == 400 and "Hãy đánh dấu ít nhất một nội dung" in r.get_data(as_text=True)
    assert db.count("playlist") == 1


def test_the_cli_deletes_a_playlist_only_when_unused(desk, runner):
    """`gatecast central playlist-delete ID --as NAME` (right edit): refused
    while an entry uses it, with where; then deleted and audited as that person."""
    from kiosk.cli import main

    token = make_user(desk.db, "minh", "editor")
    assign.add_entry(desk.db, "gate", "huu-nghi", desk.pid, name="Cả ngày")

    def run(*args):
        return runner.invoke(main, ["central", "playlist-delete", *args, "--as", "minh",
                                    "--token", token, "--state", str(desk.state_dir),
                                    "--config", str(desk.state_dir.parent / "central.toml")])

    refused = run("chao-mung")
    assert refused.exit_code == 1 and "Cả ngày" in refused.output, refused.output
    assert desk.db.count("playlist") == 1
    assign.remove(desk.db, "schedule_entry", desk.db.scalar("SELECT id FROM schedule_entry"))
    done = run("chao-mung")
    assert done.exit_code == 0 and "đã xoá danh sách phát chao-mung (Chào mừng)" in done.output
    assert desk.db.count("playlist") == 0
    assert desk.db.scalar("SELECT who FROM audit WHERE action = 'playlist.delete'") == "minh"
    assert run("chao-mung").exit_code == 1  # gone: a clear error, not a trace
