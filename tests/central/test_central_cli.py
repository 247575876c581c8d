"""`gatecast central ...` end to end through the command line, and `serve`
as the real gunicorn process it is in production."""

from __future__ import annotations

import json

import pytest
import urllib3

from kiosk.cli import main

from tests.support.central import central_config, served_central
from tests.support.media import make_image


@pytest.fixture
def config(tmp_path, central_database_url):
    """Central's config file: the store under test."""
    return central_config(tmp_path / "central.toml", central_database_url=central_database_url)


def run(runner, state, *args, ok=True):
    config = state.parent / "central.toml"
    result = runner.invoke(main, ["central", *args, "--state", str(state), "--config", str(config)])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_cli_from_init_to_publish(runner, tmp_path, config):
    state = tmp_path / "central"
    out = run(runner, state, "init", "--offline-keys", str(tmp_path / "usb")).output
    assert "1.root.json" in out and str(tmp_path / "usb") in out
    approver_token = run(runner, state, "user", "add", "lan", "--role",
                         "approver").output.strip().splitlines()[-1]
    editor_token = run(runner, state, "user", "add", "minh", "--role",
                       "editor").output.strip().splitlines()[-1]
    admin_token = run(runner, state, "user", "add", "chi", "--role",
                      "admin").output.strip().splitlines()[-1]
    assert len(approver_token) >= 40
    minh = ("--as", "minh", "--token", editor_token)  # edits content and publishes
    chi = ("--as", "chi", "--token", admin_token)  # registers gates
    image = make_image(tmp_path / "welcome.png")
    unnamed = run(runner, state, "media", "add", str(image), "--token", editor_token, ok=False)
    assert unnamed.exit_code == 2 and "--as" in unnamed.output
    sha = run(runner, state, "media", "add", str(image), *minh).output.split()[0]
    spec = tmp_path / "slide.json"
    spec.write_text(json.dumps({"body": {"vi": "Xin chào", "en": "Welcome"}}))
    text_sha = run(runner, state, "media", "add", "--text", str(spec), *minh).output.split()[0]
    bad = run(runner, state, "media", "add", str(spec), *minh, ok=False)  # JSON is not an image
    assert bad.exit_code == 1 and "slide.json" in bad.output
    odd = make_image(tmp_path / "odd.png", color=(30, 200, 30))
    odd_sha = run(runner, state, "media", "add", str(odd), *minh).output.split()[0]
    no_reason = run(runner, state, "media", "reject", odd_sha[:10], "--as", "lan", "--token",
                    approver_token, ok=False)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    not_editor = run(runner, state, "media", "reject", odd_sha[:10], "--reason", "x", *minh,
                     ok=False)
    assert not_editor.exit_code == 1 and "việc này cần quyền duyệt" in not_editor.output
    out = run(runner, state, "media", "reject", odd_sha[:10], "--reason", "Sai logo",
              "--as", "lan", "--token", approver_token).output
    assert f"{odd_sha} đã bị lan từ chối" in out
    assert odd_sha in run(runner, state, "media", "list", "--only", "rejected").output
    refused = run(runner, state, "media", "approve", sha[:10], "--as", "minh", "--token",
                  editor_token, ok=False)
    assert refused.exit_code == 1 and "việc này cần quyền duyệt" in refused.output
    unchecked = run(runner, state, "media", "approve", sha[:10], "--as", "lan", "--token",
                    editor_token, ok=False)
    assert unchecked.exit_code == 1 and "không khớp" in unchecked.output
    run(runner, state, "media", "approve", sha[:10], "--as", "lan", "--token", approver_token)
    run(runner, state, "media", "approve", text_sha[:10], "--as", "lan", "--token", approver_token)
    editor_gate = run(runner, state, "gate", "add", "huu-nghi", "--name", "Hữu Nghị", *minh,
                      ok=False)
    assert editor_gate.exit_code == 1 and "việc này cần quyền" in editor_gate.output
    token = run(runner, state, "gate", "add", "huu-nghi", "--name", "Hữu Nghị",
                "--province", "Lạng Sơn", "--faces", "1,2", *chi).output.strip()
    assert len(token) >= 40
    run(runner, state, "group", "lang-son", "huu-nghi", "--name", "Lạng Sơn", *chi)
    assert run(runner, state, "playlist", "welcome", f"{sha[:8]}:6", text_sha[:8],
               *minh).output.strip() == "c-welcome"
    run(runner, state, "assign", "entry", "--group", "lang-son", "--playlist", "welcome",
        "--start", "06:00", "--end", "22:00", *minh)
    run(runner, state, "assign", "power", "--group", "lang-son", "--start", "05:30", "--end",
        "22:30", *minh)
    both = run(runner, state, "assign", "fallback", "--gate", "huu-nghi", "--group", "lang-son",
               "--playlist", "welcome", *minh, ok=False)
    assert both.exit_code == 2 and "exactly one" in both.output
    lan = ("--as", "lan", "--token", approver_token)  # approves
    wrong = run(runner, state, "publish", "request", "--as", "lan", "--token", editor_token,
                ok=False)
    assert wrong.exit_code == 1 and "không khớp" in wrong.output
    out = run(runner, state, "publish", "preview", "--group", "lang-son").output
    assert "huu-nghi (Hữu Nghị): có thay đổi (chưa xuất bản gì)" in out
    assert "mặt 1 Khung giờ bật nguồn: + 05:30–22:30 · mọi ngày" in out and db_count(config, state, "release") == 0
    # Publishing takes two people: minh asks, lan (not minh) approves exactly that.
    out = run(runner, state, "publish", "request", "--group", "lang-son", "--note", "first",
              *minh).output
    assert out.startswith("yêu cầu 1: 1 cửa khẩu chờ một người khác duyệt") and "mặt 2" in out
    assert "publish approve 1 --as APPROVER" in out
    refused = run(runner, state, "publish", "approve", "1", *minh, ok=False)
    assert refused.exit_code == 1 and "việc này cần quyền duyệt" in refused.output
    assert "1: chờ duyệt, huu-nghi, do minh gửi lúc " in run(runner, state, "publish", "list").output
    assert "mặt 1 Mục lịch phát: + " in run(runner, state, "publish", "show", "1").output
    out = run(runner, state, "publish", "approve", "1", *lan).output
    assert "1 cửa khẩu thay đổi" in out and "huu-nghi: bản phát hành" in out
    again = run(runner, state, "publish", "approve", "1", *lan, ok=False)
    assert again.exit_code == 1 and "đã được quyết định (đã xuất bản)" in again.output
    # Four eyes: lan's own request is not lan's to approve.
    run(runner, state, "assign", "fallback", "--gate", "huu-nghi", "--playlist", "welcome", *minh)
    assert "yêu cầu 2:" in run(runner, state, "publish", "request", *lan).output
    own = run(runner, state, "publish", "approve", "2", *lan, ok=False)
    assert own.exit_code == 1 and "Nguyên tắc hai người" in own.output
    # Stale: someone edits after the request; approving publishes nothing.
    out = run(runner, state, "publish", "request", "--gate", "huu-nghi", *minh).output
    assert out.startswith("yêu cầu 3:")
    run(runner, state, "assign", "power", "--gate", "huu-nghi", "--start", "06:00", "--end",
        "21:00", *minh)
    assert "đã cũ: huu-nghi đã thay đổi" in run(runner, state, "publish", "show", "3").output
    releases = db_count(config, state, "release")
    stale = run(runner, state, "publish", "approve", "3", *lan, ok=False)
    assert stale.exit_code == 1 and "Yêu cầu 3 đã cũ" in stale.output
    assert "Không có gì được xuất bản" in stale.output and db_count(config, state, "release") == releases
    out = run(runner, state, "publish", "list", "--only", "stale").output
    assert out.startswith("3: đã cũ, không xuất bản gì, huu-nghi, do minh gửi lúc ")
    not_his = run(runner, state, "publish", "reject", "2", "--reason", "no", *minh, ok=False)
    assert not_his.exit_code == 1 and "việc này cần quyền duyệt" in not_his.output
    assert "yêu cầu 2: đã rút lại, do lan" in run(runner, state, "publish", "reject", "2",
                                                 *lan).output
    operator_token = run(runner, state, "user", "add", "an", "--role",
                         "operator").output.strip().splitlines()[-1]
    out = run(runner, state, "emergency", "--gate", "huu-nghi", "--text", "vi=Tạm dừng",
              "--minutes", "15", "--reason", "drill", "--as", "an",
              "--token", operator_token).output
    assert "thông báo khẩn cấp em-" in out and "1 cửa khẩu thay đổi" in out
    eid = out.split("thông báo khẩn cấp ", 1)[1].split()[0]
    out = run(runner, state, "emergency-cancel", eid, "--reason", "drill over", "--as", "an",
              "--token", operator_token).output
    assert "1 cửa khẩu thay đổi" in out
    again = run(runner, state, "emergency-cancel", eid, "--reason", "x", "--as", "an",
                "--token", operator_token, ok=False)
    assert again.exit_code == 1 and "Thông báo khẩn này đã kết thúc." in again.output
    assert "OFFLINE" in run(runner, state, "gates").output
    rotated = run(runner, state, "rotate-key", "timestamp", ok=False)
    assert rotated.exit_code == 1 and "offline-keys" in rotated.output
    run(runner, state, "rotate-key", "timestamp", "--offline-keys", str(tmp_path / "usb"))
    assert "chưa có gì đến hạn ký lại" in run(runner, state, "refresh").output
    # Tokens can be replaced and users revoked; the old token stops working at once.
    from central.db import open_central_db
    from central.users import user_for_token

    new_token = run(runner, state, "user", "token", "lan").output.strip()
    run(runner, state, "user", "remove", "minh")
    from central.settings import load_central_settings

    db = open_central_db(load_central_settings(config, state, env={}))
    try:
        # The audit names the person each command acted for, not "cli".
        who: dict[str, str] = {}  # the first of each (the emergency's publish is an's)
        for r in db.query("SELECT action, who FROM audit WHERE action IN ('media.add', "
                          "'gate.add', 'group.save', 'playlist.save', 'entry.save', "
                          "'power.add', 'publish', 'media.reject') ORDER BY id"):
            who.setdefault(r["action"], r["who"])
        assert who == {"media.add": "minh", "gate.add": "chi", "group.save": "chi",
                       "playlist.save": "minh", "entry.save": "minh", "power.add": "minh",
                       "publish": "lan", "media.reject": "lan"}, who
        assert user_for_token(db, "lan", approver_token) is None
        assert user_for_token(db, "lan", new_token)["role"] == "approver"
        assert db.scalar("""SELECT count(*) FROM "user" WHERE name = 'minh'""") == 0
    finally:
        db.close()
    assert run(runner, state, "user", "remove", "nobody", ok=False).exit_code == 1


def db_count(config, state, table: str) -> int:
    from central.db import open_central_db
    from central.settings import load_central_settings

    db = open_central_db(load_central_settings(config, state, env={}))
    try:
        return db.count(table)
    finally:
        db.close()


@pytest.fixture
def served(runner, tmp_path, config):
    """`gatecast central serve` under gunicorn on a free port."""
    state = tmp_path / "central"
    run(runner, state, "init")
    admin = run(runner, state, "user", "add", "chi", "--role", "admin").output.split()[-1]
    approver = run(runner, state, "user", "add", "lan", "--role", "approver").output.split()[-1]
    people = {"chi": ("--as", "chi", "--token", admin), "lan": ("--as", "lan", "--token", approver)}
    token = run(runner, state, "gate", "add", "huu-nghi", "--name", "Hữu Nghị",
                *people["chi"]).output.strip()
    with served_central(state, tmp_path / "serve.log", workers=2, threads=4,
                        config=config) as url:
        yield url, token, state, people


@pytest.mark.slow
def test_serve_runs_gunicorn_and_answers_gates(served, runner):
    url, token, state, people = served
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=60))
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    assert http.request("GET", f"{url}/healthz").status == 200
    assert http.request("GET", f"{url}/tuf/metadata/1.root.json").status == 200
    r = http.request("POST", f"{url}/api/v1/gates/huu-nghi/heartbeat", headers=auth,
                     body=json.dumps({"release_version": None}).encode())
    assert r.status == 200
    assert "online" in run(runner, state, "gates").output
    # A publish from the CLI (another process) wakes a waiter in a worker.
    before = json.loads(http.request(
        "GET", f"{url}/api/v1/gates/huu-nghi/wait?version=-1&timeout=5", headers=auth).data)
    run(runner, state, "publish", "request", *people["chi"])
    run(runner, state, "publish", "approve", "1", *people["lan"])
    r = http.request("GET", f"{url}/api/v1/gates/huu-nghi/wait?version={before['version']}&timeout=60",
                     headers=auth)
    assert r.status == 200 and json.loads(r.data)["version"] > before["version"]
