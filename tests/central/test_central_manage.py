"""The management JSON API over real HTTP: the CLI's workflow with roles."""

from __future__ import annotations

import json
import os

import urllib3
from PIL import Image

from central.app import basic_auth_header
from central.library import get_media
from central.users import add_user

from tests.support.media import make_image

http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=60))


def api(server, method, path, user=None, body=None, raw=None, headers=None):
    headers = dict(headers or {})
    if user:
        headers["Authorization"] = basic_auth_header(*user)
    if body is not None:
        headers["Content-Type"] = "application/json"
        raw = json.dumps(body).encode()
    r = http.request(method, f"{server.url}/api/v1/manage{path}", body=raw, headers=headers)
    return r.status, (json.loads(r.data) if r.data else None)


def test_uploads_may_exceed_the_report_limit_but_not_the_media_limit(tmp_path,
                                                                  central_database_url):
    from tests.support.central import LiveServer, make_central

    c = make_central(tmp_path / "central", central_max_report_mb=0.01, media_max_mb=1,
                     central_database_url=central_database_url)
    server = LiveServer(c.settings)
    try:
        editor = ("editor1", add_user(c.db, "editor1", "editor"))
        token = c.gate("huu-nghi")
        # Random pixels: a PNG of ~120 KB, far above the 10 KB report limit.
        Image.frombytes("RGB", (200, 200), os.urandom(120000)).save(tmp_path / "photo.png")
        photo = (tmp_path / "photo.png").read_bytes()
        assert 0.01 * 2**20 < len(photo) < 2**20
        status, row = api(server, "POST", "/media", editor, raw=photo,
                          headers={"X-Filename": "photo.png"})
        assert status == 201 and row["size"] == len(photo)
        r = http.request("POST", f"{server.url}/api/v1/manage/media", body=photo * 10,
                         headers={"X-Filename": "big.png",
                                  "Authorization": basic_auth_header(*editor)})
        assert r.status == 413  # above media_max_mb (1 MiB)
        big_heartbeat = json.dumps({"release_version": 1, "errors": ["x" * 20000]}).encode()
        r = http.request("POST", f"{server.url}/api/v1/gates/huu-nghi/heartbeat",
                         body=big_heartbeat, headers={"Authorization": f"Bearer {token}",
                                                      "Content-Type": "application/json"})
        assert r.status == 413
    finally:
        server.close()
        c.db.close()


def test_management_api_from_upload_to_emergency(central, central_server, tmp_path):
    people = {role: (f"{role}1", add_user(central.db, f"{role}1", role))
              for role in ("viewer", "editor", "approver", "operator", "admin")}
    s = central_server
    png = make_image(tmp_path / "welcome.png").read_bytes()

    assert api(s, "GET", "/media")[0] == 401
    assert api(s, "GET", "/media", ("editor1", "wrong-token"))[0] == 401
    assert api(s, "POST", "/media", people["viewer"], raw=png,
               headers={"X-Filename": "welcome.png"})[0] == 403
    status, err = api(s, "POST", "/media", people["editor"], raw=png)  # no X-Filename
    assert (status, err["code"]) == (400, "upload_name") and "tiêu đề X-Filename" in err["error"]
    status, bad = api(s, "POST", "/media", people["editor"], raw=b"<html>",
                      headers={"X-Filename": "x.png"})
    assert status == 400 and "x.png" in bad["error"]
    status, media = api(s, "POST", "/media", people["editor"], raw=png,
                        headers={"X-Filename": "../../welcome.png"})
    assert status == 201 and media["kind"] == "image" and media["name"] == "welcome.png"
    sha = media["sha256"]

    assert api(s, "POST", f"/media/{sha}/approve", people["editor"], body={})[0] == 403
    # A cross-site form can only send form or text bodies: refused, nothing changes.
    assert api(s, "POST", f"/media/{sha}/approve", people["approver"], raw=b"x=1",
               headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 400
    assert get_media(central.db, sha)["state"] == "uploaded"
    status, approved = api(s, "POST", f"/media/{sha}/approve", people["approver"], body={})
    assert status == 200 and approved["state"] == "approved" and approved["approved_by"] == "approver1"

    assert api(s, "POST", "/gates", people["editor"], body={"id": "huu-nghi"})[0] == 403
    status, gate = api(s, "POST", "/gates", people["admin"],
                       body={"id": "huu-nghi", "name": "Hữu Nghị", "faces": [1, 2]})
    assert status == 201 and len(gate["token"]) >= 40
    status, err = api(s, "POST", "/gates", people["admin"], body={"id": "huu-nghi"})
    assert (status, err["code"]) == (400, "gate_exists")
    assert err["error"] == "Cửa khẩu huu-nghi đã được đăng ký."
    assert api(s, "POST", "/groups", people["admin"],
               body={"id": "lang-son", "gates": ["huu-nghi"]})[0] == 201
    assert api(s, "PUT", "/playlists/welcome", people["editor"],
               body={"name": "Welcome", "items": [{"sha256": sha, "duration_s": 8}]}) \
        == (200, {"id": "c-welcome"})
    status, entry = api(s, "POST", "/assignments/entry", people["editor"],
                        body={"group": "lang-son", "playlist": "welcome",
                              "start_time": "06:00", "end_time": "22:00"})
    assert status == 201 and entry["id"].startswith("c-e-")
    status, err = api(s, "PUT", "/playlists/empty", people["editor"], body={"items": []})
    assert (status, err) == (400, {"code": "playlist_empty",
                                   "error": "Danh sách phát cần ít nhất một mục."})
    status, err = api(s, "POST", "/assignments/entry", people["editor"],
                      body={"playlist": "welcome", "start_time": "06:00"})
    assert (status, err["code"]) == (400, "gate_or_group") and "“gate”" in err["error"]
    status, err = api(s, "POST", "/assignments/entry", people["editor"],
                      body={"gate": "huu-nghi", "playlist": "welcome", "start_time": "25:00"})
    assert (status, err["code"]) == (400, "time_of_day") and "giờ trong ngày" in err["error"]
    status, err = api(s, "POST", "/assignments/power", people["editor"],
                      body={"gate": "huu-nghi", "start_time": "05:30", "end_time": "25:00"})
    assert (status, err["code"]) == (400, "power_time")
    assert err["error"].startswith("25:00 không phải là giờ trong ngày")
    assert api(s, "POST", "/assignments/power", people["editor"],
               body={"gate": "huu-nghi", "start_time": "05:30", "end_time": "22:30"})[0] == 201
    status, asked = api(s, "POST", "/publish", people["editor"], body={"note": "first"})
    assert status == 202 and (asked["state"], asked["gates"]) == ("pending", ["huu-nghi"])
    status, published = api(s, "POST", f"/publish/{asked['id']}/approve", people["approver"],
                            body={})
    assert status == 200 and set(published["changed"]) == {"huu-nghi"}

    drill = {"gate": "huu-nghi", "texts": {"vi": "Tạm dừng thông quan"}, "minutes": 20,
             "reason": "drill"}
    # The emergency right is the operator's and the admin's, not an editor's.
    assert api(s, "POST", "/emergency", people["editor"], body=drill)[0] == 403
    status, em = api(s, "POST", "/emergency", people["operator"], body=drill)
    assert status == 201 and em["changed"]["huu-nghi"] > published["changed"]["huu-nghi"]
    status, gates = api(s, "GET", "/gates", people["viewer"])
    assert status == 200 and gates[0]["published_version"] == em["changed"]["huu-nghi"]
    assert api(s, "DELETE", f"/assignments/entry/{entry['id']}", people["editor"])[0] == 200
    status, err = api(s, "DELETE", f"/assignments/entry/{entry['id']}", people["editor"])
    assert (status, err["code"]) == (404, "row_unknown")
    assert err["error"] == f"Không có mục lịch {entry['id']} (đã bị xoá rồi?)."
    audit = [r["action"] for r in central.db.query("SELECT action FROM audit WHERE who != 'cli'")]
    assert {"media.add", "media.approve", "gate.add", "publication.submit",
            "publication.approve", "publish", "emergency"} <= set(audit)


def test_publishing_through_the_api_takes_two_people(central, central_server, tmp_path):
    """Submit, four eyes, a stale preview token and a stale request: refused
    with a code and Vietnamese words, nothing stored or published."""
    from central.assign import add_notice

    people = {name: (name, add_user(central.db, name, role))
              for name, role in (("bien-tap", "editor"), ("duyet", "approver"),
                                 ("duyet-2", "approver"), ("xem", "viewer"))}
    s = central_server
    central.gate("huu-nghi", faces=(1, 2))
    central.show("huu-nghi", [central.media(make_image(tmp_path / "red.png"))])
    status, seen = api(s, "GET", "/publish/preview?gate=huu-nghi", people["xem"])
    [gate] = seen["gates"]
    assert status == 200 and gate["changes"] and gate["release_in_force"] is None
    assert gate["faces"]["2"]["playlists"]["added"] == ["main: red.png"]
    # The viewer may look, not ask; the words are Vietnamese.
    status, err = api(s, "POST", "/publish", people["xem"], body={"gates": ["huu-nghi"]})
    assert status == 403 and err["code"] == "forbidden" and "quyền" in err["error"]
    # Someone edits after the preview: the token is stale, nothing is stored.
    add_notice(central.db, "gate", "huu-nghi", {"vi": "Giờ mở cửa 7:00"})
    status, err = api(s, "POST", "/publish", people["bien-tap"],
                      body={"gates": ["huu-nghi"], "token": seen["token"]})
    assert status == 409 and err["code"] == "stale" and err["gates"] == ["huu-nghi"]
    assert "không có gì được xuất bản" in err["error"]
    assert central.db.count("publication_request") == 0
    status, asked = api(s, "POST", "/publish", people["duyet"], body={"gates": ["huu-nghi"]})
    assert status == 202 and asked["state_name"] == "chờ duyệt"
    # Four eyes: its submitter cannot approve it.
    status, err = api(s, "POST", f"/publish/{asked['id']}/approve", people["duyet"], body={})
    assert status == 403 and err["code"] == "four_eyes" and "duyet" in err["error"]
    status, shown = api(s, "GET", f"/publish/{asked['id']}", people["xem"])
    assert shown["stale"] == [] and "Giờ mở cửa 7:00" in json.dumps(shown["preview"],
                                                                   ensure_ascii=False)
    # An edit after the request: approving publishes nothing, the request is stale.
    add_notice(central.db, "gate", "huu-nghi", {"vi": "Chưa ai duyệt"})
    assert api(s, "GET", f"/publish/{asked['id']}", people["xem"])[1]["stale"] == ["huu-nghi"]
    status, err = api(s, "POST", f"/publish/{asked['id']}/approve", people["duyet-2"], body={})
    assert status == 409 and err["code"] == "stale" and "Không có gì được xuất bản" in err["error"]
    assert central.db.count("release") == 0
    status, err = api(s, "POST", f"/publish/{asked['id']}/approve", people["duyet-2"], body={})
    assert status == 409 and err["code"] == "decided"
    # Asked again and approved by another: exactly that is published.
    status, asked = api(s, "POST", "/publish", people["bien-tap"], body={"note": "lịch mới"})
    status, done = api(s, "POST", f"/publish/{asked['id']}/approve", people["duyet"], body={})
    assert status == 200 and list(done["changed"]) == ["huu-nghi"]
    assert "Chưa ai duyệt" in central.db.scalar("SELECT document FROM release")
    status, listed = api(s, "GET", "/publish?state=stale", people["xem"])
    assert [r["state"] for r in listed] == ["stale"]
    # Rejecting needs a reason; nothing to publish is a conflict, in words.
    status, err = api(s, "POST", "/publish", people["bien-tap"], body={})
    assert status == 409 and err["code"] == "nothing_to_publish"
    add_notice(central.db, "gate", "huu-nghi", {"vi": "Bản nháp"})
    status, asked = api(s, "POST", "/publish", people["bien-tap"], body={})
    status, err = api(s, "POST", f"/publish/{asked['id']}/reject", people["duyet"], body={})
    assert status == 400 and err["code"] == "reason"
    status, rejected = api(s, "POST", f"/publish/{asked['id']}/reject", people["duyet"],
                           body={"reason": "sai chính tả"})
    assert status == 200 and rejected["state"] == "rejected"
    assert api(s, "GET", "/publish/999", people["xem"])[0] == 404
