"""A sync failure made for real, as the technician reads it: `gatecast sync --once`
and `--status` in the gate's language, and the admin's dashboard in chromium
(Vietnamese, and English one click away), also 390 px wide.

Central here accepts connections and never answers, so the pull times out and the
report round ends with the gate's own "no answer in time". Set
WIDGET_SCREENSHOTS=DIR to keep the pictures."""

from __future__ import annotations

import json
import re
import socket
import subprocess

import pytest

from tests.support.admin import GATECAST, clean_env, start_process, stop_process
from tests.support.sync.gate import Gate
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

PASSWORD = "sync-words-password"


@pytest.fixture
def silent_gate(tmp_path, repo):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel accepts; nobody ever answers
    gate = Gate(tmp_path / "gate", f"http://127.0.0.1:{silent.getsockname()[1]}", repo.root_bytes(),
                sync_http_timeout_s=1.0)
    try:
        yield gate
    finally:
        gate.close()
        silent.close()


def _gatecast(gate, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([GATECAST, *args, "--state", str(gate.state_dir), "--config",
                           str(gate.config_file)], env=clean_env(**env), capture_output=True,
                          text=True, timeout=120)


def test_a_report_without_answer_is_said_in_vietnamese_on_the_cli_and_the_dashboard(silent_gate, tmp_path):
    from admin.services import users

    gate = silent_gate
    # Proof of play waiting too; no screenshot: the queue says only what it holds.
    gate.db["proof_of_play"].insert_all([
        {"id": i, "face_id": 1, "media_sha256": "a" * 64, "entry_id": "c-e1", "level": "normal",
         "started_at": f"2026-11-27T08:0{i}:00+07:00", "ended_at": f"2026-11-27T08:0{i}:10+07:00",
         "outcome": "completed"} for i in range(1, 6)])
    once = _gatecast(gate, "sync", "--once")
    assert once.returncode == 1, once.stderr
    pull_line, report_line = once.stdout.splitlines()
    assert pull_line.startswith("Tải về: thất bại: không kết nối được máy chủ trung tâm — nguyên nhân: "
                                "127.0.0.1 không trả lời trong 1"), pull_line
    assert report_line.startswith(
        "Báo cáo: chưa gửi được: không kết nối được máy chủ trung tâm hoặc máy chủ không lưu được; "
        "báo cáo vẫn nằm trong hàng đợi — nguyên nhân: máy chủ trung tâm không trả lời kịp thời hạn"
        " · đang chờ gửi: 1 bản tin trạng thái, 5 bản ghi phát"), report_line
    assert report_line.endswith("đang chờ gửi: 1 bản tin trạng thái, 5 bản ghi phát"), report_line
    assert "no answer" not in once.stdout and "Read timed out" not in once.stdout
    # What was stored is the code and the gate's own text, said when shown.
    upstream = gate.sync_state()["upstream"]
    assert upstream["status"] == "offline" and upstream["error"] == "POST report: no answer in time"

    status = _gatecast(gate, "sync", "--status")
    assert status.returncode == 0 and status.stdout.splitlines() == once.stdout.splitlines()
    english = _gatecast(gate, "sync", "--status", GATECAST_LANGUAGE="en")
    assert english.stdout.splitlines()[1].startswith(
        "Reports: not sent: central cannot be reached or did not store them; they stay queued — "
        "cause: central did not answer in time · queued: 1 heartbeat(s), "
        "5 proof-of-play record(s)"), english.stdout
    assert english.stdout.splitlines()[1].endswith("5 proof-of-play record(s)"), english.stdout
    raw = json.loads(_gatecast(gate, "sync", "--status", "--json").stdout)
    assert raw["upstream"]["status"] == "offline" and raw["code"] == "network"

    # The dashboard of the installed admin (gunicorn) on the same state folder.
    users.create_user(gate.db, "chief", PASSWORD, "admin", None, "vi")
    log = tmp_path / "admin.log"
    admin = start_process([GATECAST, "admin", "--state", str(gate.state_dir), "--config",
                           str(gate.config_file), "--bind", "127.0.0.1:0", "--workers", "1"],
                          clean_env(), log)
    try:
        port = wait_for(lambda: re.findall(rb"Listening at: http://127\.0\.0\.1:(\d+)", log.read_bytes()),
                        60, "gunicorn to listen")[0].decode()
        _look_at_the_dashboard(f"http://127.0.0.1:{port}")
    finally:
        stop_process(admin)


def _look_at_the_dashboard(url: str) -> None:
    from tests.support.browser import (DESKTOP, PHONE, assert_fits, chromium, keep_picture,
                                       switch_language_and_log_in)

    with chromium() as browser:
        page = browser.new_page(locale="vi-VN", viewport=DESKTOP)
        page.set_default_timeout(30_000)
        switch_language_and_log_in(page, url, "chief", PASSWORD)
        reports = page.inner_text("#sync-upstream")
        assert reports.startswith("chưa gửi được: không kết nối được máy chủ trung tâm") and (
            "nguyên nhân: máy chủ trung tâm không trả lời kịp thời hạn" in reports), reports
        assert "error-text" in (page.get_attribute("#sync-upstream", "class") or "")
        assert "không trả lời trong 1" in page.inner_text("#sync-state")
        assert "error-text" in (page.get_attribute("#sync-state", "class") or "")
        assert "Báo cáo gửi máy chủ trung tâm" in page.inner_text("[data-part=sync]")
        assert reports.endswith("đang chờ gửi: 1 bản tin trạng thái, 5 bản ghi phát"), reports
        keep_picture(page, "sync-failure-vi-desktop")
        page.set_viewport_size(PHONE)
        assert_fits(page)
        keep_picture(page, "sync-failure-vi-phone")
        page.click("#lang-en")
        page.wait_for_function("document.querySelector('#sync-upstream').innerText.startsWith('not sent')")
        assert "cause: central did not answer in time" in page.inner_text("#sync-upstream")
        assert_fits(page)
        keep_picture(page, "sync-failure-en-phone")


def test_the_queue_is_said_by_what_it_holds():
    """Only the parts that hold something, in the queue's order; nothing when empty."""
    from admin.events import Renderer

    say = Renderer(lambda text, **kw: text % kw if kw else text, str, str)

    def line(**pending):
        return say.upstream_state({"upstream": {"status": "ok", "pending": pending}})

    assert line(heartbeats=0, proof_of_play=0, screenshots=0) == line() == say.upstream_state(
        {"upstream": {"status": "ok"}})
    assert " · " not in line(heartbeats=0, proof_of_play=0, screenshots=0)
    assert line(heartbeats=0, proof_of_play=12, screenshots=2).endswith(
        " · queued: 12 proof-of-play record(s), 2 screenshot(s)")
    assert line(heartbeats=3, screenshots=0).endswith(" · queued: 3 heartbeat(s)")
