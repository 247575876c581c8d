"""The Library page: uploads checked like the gate's (hostile names and
malformed media refused with the gate admin's Vietnamese messages, nothing
stored), previews of every kind, dates, approve/reject with four eyes,
retire, filters."""

from __future__ import annotations

import io

from PIL import Image

from tests.support.console import Console, make_user
from tests.support.media import make_image, make_video


def _files(central) -> set[str]:
    folder = central.state_dir / "library"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_upload_review_and_filters(central, console_app, tmp_path):
    make_user(central.db, "minh", "editor")
    make_user(central.db, "lan", "approver")
    editor, approver = Console(console_app), Console(console_app)
    editor.login("minh")
    approver.login("lan")
    before_rows, before_files = central.db.count("media"), _files(central)

    def upload(client, data: bytes, name: str):
        return client.client.post("/library/upload", data=data, headers={
            "X-CSRFToken": client.token, "X-File-Name": name,
            "Content-Type": "application/octet-stream", "Accept": "application/json"})

    # Malformed media and a script named like a picture: refused in Vietnamese, nothing stored.
    for data, name in ((b"<script>alert(1)</script>", "anh.png"), (b"", "rong.png"),
                       (make_video(tmp_path / "x.mp4", seconds=1).read_bytes()[:3000], "cut.mp4")):
        r = upload(editor, data, name)
        assert r.status_code == 400, r.get_data(as_text=True)
        assert name in r.get_json()["error"]
    assert "không phải" in upload(editor, b"<html>", "a.png").get_json()["error"]
    assert central.db.count("media") == before_rows and _files(central) == before_files
    # Without the CSRF header nothing is accepted either.
    r = editor.client.post("/library/upload", data=b"x", headers={"X-File-Name": "a.png"})
    assert r.status_code == 400
    # A hostile name is only ever shown, made harmless.
    png = make_image(tmp_path / "red.png", size=(320, 180)).read_bytes()
    r = upload(editor, png, "..%2F..%2Fetc%2Fpasswd%E2%80%AE%0A.png")
    assert r.status_code == 201, r.get_data(as_text=True)
    sha = r.get_json()["sha256"]
    [row] = central.db.query("SELECT name, uploaded_by, state FROM media WHERE sha256 = :s",
                             {"s": sha})
    # Only the last path part, the bidi override dropped, the newline a space.
    assert row == {"name": "passwd .png", "uploaded_by": "minh", "state": "uploaded"}
    # The same picture again, under another name: said in words, with its link; nothing new.
    rows = central.db.count("media")
    again = upload(editor, png, "lai-lan-nua.png")
    assert again.status_code == 200 and again.get_json()["url"] == f"/library/{sha}"
    assert "đã có trong thư viện với tên passwd .png (chờ duyệt)" in again.get_json()["already"]
    assert central.db.count("media") == rows
    video = upload(editor, make_video(tmp_path / "v.mp4", seconds=1).read_bytes(), "clip.mp4")
    assert video.status_code == 201
    vsha = video.get_json()["sha256"]

    # Previews: the picture and the video are served with their type; the page shows them.
    for item, mime in ((sha, "image/png"), (vsha, "video/mp4")):
        with editor.get(f"/library/{item}/file") as r:
            assert r.status_code == 200 and r.mimetype == mime
    page = editor.text(f"/library/{vsha}")
    assert "<video controls" in page and "chờ duyệt" in page
    assert 'id="approve"' not in page  # an editor cannot approve

    # Dates: reversed ones are refused and nothing changes.
    r = editor.post(f"/library/{sha}/dates", {"valid_from": "2026-12-31", "valid_until":
                                              "2026-12-01"}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and "trước ngày đầu" in r.get_json()["error"]
    editor.post(f"/library/{sha}/dates", {"valid_from": "2026-12-01", "valid_until": "2026-12-31"})
    assert "01/12/2026 – 31/12/2026" in editor.text("/library/")

    # Review: an editor may not; the approver approves the editor's upload.
    assert editor.post(f"/library/{sha}/approve").status_code == 403
    r = approver.post(f"/library/{vsha}/reject", {"reason": ""},
                      headers={"Accept": "application/json"})
    assert r.status_code == 400 and central.db.scalar(
        f"SELECT state FROM media WHERE sha256 = '{vsha}'") == "uploaded"
    approver.post(f"/library/{vsha}/reject", {"reason": "Âm thanh bị rè"})
    assert "Âm thanh bị rè" in editor.text(f"/library/{vsha}")
    approver.post(f"/library/{sha}/approve")
    assert central.db.scalar(f"SELECT approved_by FROM media WHERE sha256 = '{sha}'") == "lan"

    # Four eyes: the approver's own upload waits for someone else.
    own = upload(approver, make_image(tmp_path / "b.png", color=(0, 0, 200)).read_bytes(), "b.png")
    osha = own.get_json()["sha256"]
    r = approver.post(f"/library/{osha}/approve", headers={"Accept": "application/json"})
    assert r.status_code == 403 and "Nguyên tắc hai người" in r.get_json()["error"]
    assert "another approver must" not in approver.text(f"/library/{osha}")

    # Filters.
    listing = editor.text("/library/?state=approved")
    assert "passwd .png" in listing and "clip.mp4" not in listing
    listing = editor.text("/library/?kind=video")
    assert "clip.mp4" in listing and "passwd .png" not in listing
    listing = editor.text("/library/?uploader=lan")
    assert "b.png" in listing and "passwd .png" not in listing

    approver.post(f"/library/{sha}/retire")
    assert central.db.scalar(f"SELECT state FROM media WHERE sha256 = '{sha}'") == "retired"
    actions = {r["action"] for r in central.db.query("SELECT action FROM audit WHERE who IN "
                                                       "('minh', 'lan')")}
    assert {"media.add", "media.reject", "media.approve", "media.retire", "media.dates"} <= actions


def test_a_text_slide_is_previewed_at_a_faces_resolution(central, console_app):
    make_user(central.db, "minh", "editor")
    sha = central.text({"title": {"vi": "Thông báo"}, "body": {"vi": "Cửa khẩu mở từ 7 giờ"}},
                       approve=False)
    c = Console(console_app)
    c.login("minh")
    assert 'id="slide-preview"' in c.text(f"/library/{sha}")
    for size, expected in ((0, (1920, 1080)), (1, (1080, 1920))):
        with c.get(f"/library/{sha}/preview.png?size={size}") as r:
            assert r.status_code == 200 and r.mimetype == "image/png"
            picture = Image.open(io.BytesIO(r.data))
        assert picture.size == expected
        low, high = picture.convert("L").getextrema()
        assert high - low > 100  # text was drawn, not a blank
    assert c.get(f"/library/{sha}/preview.png?size=9").status_code == 404


def test_a_text_slide_made_in_the_browser_waits_for_approval(central, console_app):
    """The Library's text slide form: stored through the library's add_text
    (pending approval, its preview at a face's resolution, its dates); the
    gate's refusals (a character no font draws, no text, four languages, a
    bad duration or dates) in Vietnamese, back on the form with what was
    typed, nothing stored."""
    make_user(central.db, "minh", "editor")
    c = Console(console_app)
    c.login("minh")
    page = c.text("/library/")
    assert 'action="/library/text' in page and "media add --text" not in page
    before, files = central.db.count("media"), _files(central)
    for data, said in (
            ({"title_vi": "Thông báo", "body_km": "សេចក្តី \U0001F600"}, "phông chữ"),
            ({"title_vi": "  ", "body_en": ""}, "ít nhất một ngôn ngữ"),
            ({"title_vi": "a", "title_zh": "口岸", "title_lo": "ດ່ານ", "title_en": "Gate"},
             "nhiều nhất 3 ngôn ngữ"),
            ({"title_vi": "Thông báo", "duration_s": "0"}, "3600"),
            ({"title_vi": "Thông báo", "valid_from": "2026-12-10", "valid_until": "2026-12-01"},
             "(01/12/2026) ở trước ngày đầu (10/12/2026)")):  # days as the date fields show them
        r = c.post("/library/text", data)
        html = r.get_data(as_text=True)
        assert r.status_code == 400 and said in html, html[:3000]
        assert "cannot be shown" not in html and "duration_s must" not in html
        assert 'value="Thông báo"' in html or data["title_vi"].strip() != "Thông báo"
    assert central.db.count("media") == before and _files(central) == files

    r = c.post("/library/text", {"title_vi": "Cửa khẩu mở cửa", "body_vi": "Từ 7 giờ\r\nđến 22 giờ",
                                 "title_zh": "口岸开放", "duration_s": "12",
                                 "valid_from": "2026-12-01", "valid_until": "2026-12-31"})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:2000]
    sha = r.headers["Location"].rsplit("/", 1)[-1]
    media = central.db.query(f"SELECT * FROM media WHERE sha256 = '{sha}'")[0]
    assert (media["kind"], media["state"], media["name"], media["uploaded_by"]) == \
        ("text", "uploaded", "Cửa khẩu mở cửa", "minh")
    assert (media["valid_from"], media["valid_until"], media["duration_s"]) == \
        ("2026-12-01", "2026-12-31", 12)
    shown = c.text(r.headers["Location"])
    assert "Đã lưu Cửa khẩu mở cửa, đang chờ duyệt." in shown and 'id="slide-preview"' in shown
    # Its languages by name, never as codes (the list says them too).
    assert "<dd>Tiếng Việt, Tiếng Trung</dd>" in shown and "vi,zh" not in shown
    assert "Tiếng Việt, Tiếng Trung" in c.text("/library/")
    from central.library import library_store
    from kiosk.text.slide import parse_spec

    spec = parse_spec(library_store(central.state_dir).path(sha).read_bytes())
    assert spec.title == {"vi": "Cửa khẩu mở cửa", "zh": "口岸开放"}
    assert spec.body == {"vi": "Từ 7 giờ\nđến 22 giờ"}
    # The same slide typed again: said in words on its page; nothing new.
    rows = central.db.count("media")
    r = c.post("/library/text", {"title_vi": "Cửa khẩu mở cửa", "body_vi": "Từ 7 giờ\r\nđến 22 giờ",
                                 "title_zh": "口岸开放", "duration_s": "12", "name": "lần hai"})
    assert r.headers["Location"].endswith(f"/library/{sha}")
    assert "Trang chữ này đã có trong thư viện với tên Cửa khẩu mở cửa" in c.text(r.headers["Location"])
    assert central.db.count("media") == rows
    with c.get(f"/library/{sha}/preview.png?size=1") as p:
        assert p.status_code == 200 and Image.open(io.BytesIO(p.data)).size == (1080, 1920)
