"""Media upload, playlists and schedule entries through the admin, and every
bad input of the issue: a clear message in the user's language, a 4xx,
nothing half-stored, never a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.admin import PASSWORDS, Auth, csrf_from
from tests.support.media import make_image, make_png_bomb, make_video, truncate


class Uploader:
    """Uploads the way the page's script does: raw body, CSRF header, name header."""

    def __init__(self, client, auth):
        self.client, self.auth = client, auth
        self.token = None

    def __call__(self, data: bytes, name: str):
        if self.token is None:
            self.token = csrf_from(self.client.get("/media/").get_data(as_text=True))
        return self.client.post("/media/upload", data=data, headers={
            "X-CSRFToken": self.token, "X-File-Name": quote(name),
            "Content-Type": "application/octet-stream", "Accept": "application/json"})


@pytest.fixture
def upload(client, auth, accounts):
    auth.login("op")
    auth.post("/language", {"lang": "vi"})
    return Uploader(client, auth)


def _stored(app, db):
    media_dir = app.extensions["gatecast_settings"].media_dir
    files = sorted(p.name for p in media_dir.iterdir()) if media_dir.exists() else []
    return db.execute("SELECT COUNT(*) FROM media").fetchone()[0], files


def test_upload_image_and_video_then_listed_and_previewed(client, upload, db, tmp_path):
    png = make_image(tmp_path / "a.png", (64, 48))
    resp = upload(png.read_bytes(), "Bản tin.png")
    assert resp.status_code == 201, resp.json
    row = resp.json
    assert (row["kind"], row["format"], row["width"], row["height"], row["name"]) == (
        "image", "png", 64, 48, "Bản tin.png")
    video = make_video(tmp_path / "v.mp4", seconds=2)
    resp = upload(video.read_bytes(), "clip.mp4")
    assert resp.status_code == 201 and resp.json["duration_s"] == pytest.approx(2.0, abs=0.1)
    page = client.get("/media/").get_data(as_text=True)
    assert "Bản tin.png" in page and "clip.mp4" in page
    with client.get(f"/media/{row['sha256']}/file") as f:
        assert f.status_code == 200 and f.mimetype == "image/png" and f.data == png.read_bytes()
    audit = db.execute("SELECT username, action, target FROM admin_audit WHERE action = 'media.upload'").fetchall()
    assert ("op", "media.upload", "Bản tin.png") in audit


BAD_UPLOADS = {
    "text named .mp4": (lambda t: b"hello, this is text\n" * 50, "video.mp4", 400, "không phải"),
    "zero bytes": (lambda t: b"", "empty.png", 400, "rỗng"),
    "truncated video": (lambda t: truncate(make_video(t / "full.mp4", 3, "640x360"), t / "cut.mp4").read_bytes(),
                        "cut.mp4", 400, "không đầy đủ"),
    "30000x30000 png": (lambda t: make_png_bomb(t / "bomb.png").read_bytes(), "bomb.png", 400, "quá lớn"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_uploads_are_refused_in_vietnamese_and_leave_nothing(app, upload, db, tmp_path, case):
    make, name, status, words = BAD_UPLOADS[case]
    before = _stored(app, db)
    resp = upload(make(tmp_path), name)
    assert resp.status_code == status, resp.json
    assert words in resp.json["error"].lower() or words in resp.json["error"]
    assert _stored(app, db) == before


@pytest.mark.parametrize("name,shown", [
    ("../../etc/passwd.png", "passwd.png"),
    ("evil\x00.png", "evil.png"),
    ("Cửa khẩu quốc tế Hữu Nghị " * 20 + ".png", None),
])
def test_hostile_names_are_display_only(app, upload, db, tmp_path, name, shown):
    png = make_image(tmp_path / "ok.png")
    resp = upload(png.read_bytes(), name)
    assert resp.status_code == 201
    stored = resp.json["name"]
    assert "/" not in stored and "\x00" not in stored and len(stored) <= 120
    if shown:
        assert stored == shown
    media_dir = app.extensions["gatecast_settings"].media_dir
    assert sorted(p.name for p in media_dir.iterdir()) == [resp.json["sha256"]]
    assert not (app.extensions["gatecast_settings"].state_path.parent / "etc").exists()


@pytest.fixture
def small_app(state_dir, tmp_path):
    from admin import create_app

    cfg = tmp_path / "small.toml"
    cfg.write_text("media_max_mb = 1\n")
    return create_app({"STATE_DIR": str(state_dir), "CONFIG_FILE": str(cfg), "TESTING": True})


@pytest.mark.parametrize("size_mb", [1.5, 3])
def test_upload_over_the_size_limit(small_app, state_dir, size_mb):
    from admin.services import users
    from kiosk.store import connect

    db = connect(state_dir / "gatecast.db")
    users.create_user(db, "op", PASSWORDS["op"], "operator", None, "vi")
    client = small_app.test_client()
    Auth(client).login("op")
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * int(size_mb * 1024 * 1024)
    resp = Uploader(client, None)(data, "huge.png")
    assert resp.status_code == 413
    assert "giới hạn" in resp.json["error"]
    assert db.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 0
    media_dir = state_dir / "media"
    assert not media_dir.exists() or list(media_dir.iterdir()) == []


def _playlist_with_image(upload, client, auth, tmp_path):
    sha = upload(make_image(tmp_path / "p.png").read_bytes(), "p.png").json["sha256"]
    token = csrf_from(client.get("/playlists").get_data(as_text=True))
    resp = client.post("/api/v1/playlists", json={"name": "Sáng", "items": [
        {"media_sha256": sha, "duration_s": 5}]}, headers={"X-CSRFToken": token})
    assert resp.status_code == 201, resp.json
    return sha, resp.json["id"], token


ENTRY = {"name": "Giờ làm việc", "faces": [1], "weekdays": [0, 1, 2, 3, 4],
         "start_time": "08:00", "end_time": "17:00", "level": "normal"}

BAD_ENTRIES = {
    "25:00": ({"start_time": "25:00"}, "start_time", "không phải giờ"),
    "unknown face": ({"faces": [7]}, "faces", "Không có mặt"),
    "reversed dates": ({"start_date": "2026-12-31", "end_date": "2026-12-01"}, "end_date",
                       "trước khi bắt đầu"),
    "no weekday": ({"weekdays": []}, "weekdays", "thứ"),
    "bad level": ({"level": "urgent"}, "level", "mức"),
}


@pytest.mark.parametrize("case", sorted(BAD_ENTRIES))
def test_bad_schedule_entries_are_refused(client, upload, auth, db, tmp_path, case):
    _, playlist_id, token = _playlist_with_image(upload, client, auth, tmp_path)
    change, field, words = BAD_ENTRIES[case]
    before = db.execute("SELECT COUNT(*) FROM schedule_entry").fetchone()[0]
    resp = client.post("/api/v1/schedule", json={**ENTRY, "playlist_id": playlist_id, **change},
                       headers={"X-CSRFToken": token})
    assert resp.status_code == 400 and resp.json["field"] == field
    assert words.lower() in resp.json["error"].lower()
    # The same through the page form.
    form = {**ENTRY, "playlist_id": playlist_id, **change, "csrf_token": token}
    resp = client.post("/schedule", data=form)
    assert resp.status_code == 400 and words.lower() in resp.get_data(as_text=True).lower()
    assert db.execute("SELECT COUNT(*) FROM schedule_entry").fetchone()[0] == before


def test_schedule_entry_conflicts_in_words_and_week_view(client, upload, auth, db, tmp_path):
    _, playlist_id, token = _playlist_with_image(upload, client, auth, tmp_path)
    h = {"X-CSRFToken": token}
    normal = client.post("/api/v1/schedule", json={**ENTRY, "playlist_id": playlist_id,
                                                   "faces": [1, 2], "name": "Y"}, headers=h)
    assert normal.status_code == 201
    prio = client.post("/api/v1/schedule", json={
        **ENTRY, "playlist_id": playlist_id, "faces": [2], "weekdays": [1], "start_time": "08:00",
        "end_time": "09:00", "level": "priority", "name": "X"}, headers=h)
    assert prio.status_code == 201
    auth.post("/language", {"lang": "en"})
    texts = [c["text"] for c in client.get("/api/v1/schedule").json["conflicts"]]
    assert texts == ["On face 2, Tuesday 08:00–09:00, priority entry X hides normal entry Y."]
    week = client.get("/api/v1/week?monday=2026-11-23").json
    face2_tuesday = week["faces"][1]["days"][1]
    assert {"start": "08:00", "end": "09:00", "level": "priority", "entries": ["X"], "items": 1} in face2_tuesday
    assert client.get("/week?monday=2026-11-23").status_code == 200
    assert client.get("/api/v1/week?monday=2026-13-01").status_code == 400


def test_media_in_use_cannot_be_deleted_with_the_reason(client, upload, auth, db, tmp_path):
    sha, playlist_id, token = _playlist_with_image(upload, client, auth, tmp_path)
    resp = client.post(f"/media/{sha}/delete", data={"csrf_token": token})
    assert resp.status_code == 409 and "Sáng" in resp.get_data(as_text=True)
    assert db.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 1
    # Playlist in use by an entry cannot go either; after removing both, the media can.
    entry = client.post("/api/v1/schedule", json={**ENTRY, "playlist_id": playlist_id},
                        headers={"X-CSRFToken": token}).json
    assert client.delete(f"/api/v1/playlists/{playlist_id}", headers={"X-CSRFToken": token}).status_code == 409
    assert client.delete(f"/api/v1/schedule/{entry['id']}", headers={"X-CSRFToken": token}).status_code == 200
    assert client.delete(f"/api/v1/playlists/{playlist_id}", headers={"X-CSRFToken": token}).status_code == 200
    assert client.post(f"/media/{sha}/delete", data={"csrf_token": token}).status_code == 302
    assert db.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 0


def test_central_content_is_read_only(client, upload, auth, db, tmp_path):
    db["playlist"].insert({"id": "c-news", "name": "News", "source": "central"})
    token = csrf_from(client.get("/playlists").get_data(as_text=True))
    resp = client.put("/api/v1/playlists/c-news", json={"name": "Mine", "items": []},
                      headers={"X-CSRFToken": token})
    assert resp.status_code == 409
    assert db["playlist"].get("c-news")["name"] == "News"


def test_playlist_form_reorders_and_removes(client, upload, auth, db, tmp_path):
    sha1, playlist_id, token = _playlist_with_image(upload, client, auth, tmp_path)
    sha2 = upload(make_image(tmp_path / "b.png", color=(0, 0, 255)).read_bytes(), "b.png").json["sha256"]
    resp = client.post(f"/playlists/{playlist_id}", data={
        "csrf_token": token, "name": "Sáng", "rows": "1", "sha_0": sha1, "order_0": "1",
        "duration_0": "5", "add_sha": sha2, "add_duration": ""})
    assert resp.status_code == 302
    resp = client.post(f"/playlists/{playlist_id}", data={
        "csrf_token": token, "name": "Sáng", "rows": "2", "sha_0": sha1, "order_0": "2",
        "sha_1": sha2, "order_1": "1", "duration_1": "abc"})
    assert resp.status_code == 400  # a bad duration changes nothing
    items = [r["media_sha256"] for r in db.query(
        "SELECT media_sha256 FROM playlist_item WHERE playlist_id = ? ORDER BY position", [playlist_id])]
    assert items == [sha1, sha2]
    resp = client.post(f"/playlists/{playlist_id}", data={
        "csrf_token": token, "name": "Sáng", "rows": "2", "sha_0": sha1, "order_0": "2",
        "sha_1": sha2, "order_1": "1", "remove_0": "1"})
    assert resp.status_code == 302
    items = [r["media_sha256"] for r in db.query(
        "SELECT media_sha256 FROM playlist_item WHERE playlist_id = ? ORDER BY position", [playlist_id])]
    assert items == [sha2]
