"""Notices in the gate database, the CLI over them, and notices as schedule entries."""

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.mediastore import MediaStore
from kiosk.schedule import evaluate, load_schedule
from kiosk.store import desired_revision
from kiosk.text.notices import (
    NoticeError,
    active_notices,
    clear_notices,
    list_notices,
    next_change,
    notice_schedule,
    parse_duration,
    set_notice,
)
from kiosk.text.slide import parse_spec

from tests.support.text import SAMPLES

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
TZ = "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize("text,seconds", [("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("90s", 90), ("1d", 86400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "soon", "30", "5x", "0m", "-5m", "1h 30"])
def test_bad_durations_are_refused(text):
    with pytest.raises(NoticeError):
        parse_duration(text)


def test_set_list_clear_and_history(fresh_db):
    rev = desired_revision(fresh_db)
    n = set_notice(fresh_db, {"vi": SAMPLES["vi"], "en": SAMPLES["en"]}, level="emergency",
                   duration=timedelta(minutes=30), now=NOW)
    assert desired_revision(fresh_db) > rev  # the player sees it at its next poll
    assert n.expires_at == NOW + timedelta(minutes=30)
    assert [a.id for a in active_notices(fresh_db, NOW + timedelta(minutes=1))] == [n.id]
    assert active_notices(fresh_db, NOW + timedelta(minutes=31)) == []
    assert next_change(fresh_db, NOW) == NOW + timedelta(minutes=30)
    central = set_notice(fresh_db, {"vi": "Từ trung tâm"}, source="central", now=NOW)
    assert clear_notices(fresh_db, by="tester", now=NOW + timedelta(minutes=2)) == [n.id]
    assert [a.id for a in active_notices(fresh_db, NOW + timedelta(minutes=3))] == [central.id]
    assert clear_notices(fresh_db, include_central=True, now=NOW + timedelta(minutes=4)) == [central.id]
    everything = list_notices(fresh_db, NOW + timedelta(minutes=5), include_ended=True)
    assert {x.id for x in everything} == {n.id, central.id}
    assert all(x.withdrawn_at for x in everything)
    events = [r["code"] for r in fresh_db.query("SELECT code FROM event WHERE source = 'text' ORDER BY id")]
    assert events == ["notice_set", "notice_set", "notice_cleared", "notice_cleared"]


@pytest.mark.parametrize("kwargs,message", [
    ({"texts": {}}, "at least one language"),
    ({"texts": {"fr": "Bonjour"}}, "unknown language 'fr'"),
    ({"texts": {"vi": "x"}, "level": "urgent"}, "unknown level"),
    ({"texts": {"vi": "x"}, "kind": "popup"}, "unknown kind"),
    ({"texts": {k: "x" for k in ("vi", "en", "zh", "lo")}}, "at most 3 languages"),
    ({"texts": {"vi": "x"}, "faces": [9], "known_faces": [1, 2]}, "no face 9"),
    ({"texts": {"lo": SAMPLES["lo"]}, "fonts": {"lo": "Noto Sans"}}, r"Lao \(lo\) text cannot be shown"),
])
def test_bad_notices_are_refused_and_nothing_is_stored(fresh_db, kwargs, message):
    texts = kwargs.pop("texts")
    with pytest.raises(NoticeError, match=message):
        set_notice(fresh_db, texts, **kwargs)
    assert fresh_db["notice"].count == 0


def test_a_ticker_takes_all_five_languages(fresh_db):
    n = set_notice(fresh_db, SAMPLES, kind="ticker")
    assert n.languages() == ["vi", "zh", "lo", "km", "en"]


def test_slide_notice_becomes_an_entry_that_preempts_the_schedule(fresh_db, tmp_path):
    store = MediaStore(tmp_path / "media")
    settings = {"image_duration_s": 10.0, "text_emergency_background": "#B00020"}
    n = set_notice(fresh_db, {"vi": SAMPLES["vi"], "km": SAMPLES["km"]}, level="emergency", faces=[2],
                   duration=timedelta(minutes=30), now=NOW)
    entries, playlists = notice_schedule(fresh_db, store, settings, [1, 2], now=NOW)
    schedule = load_schedule(fresh_db, extra_entries=entries, extra_playlists=playlists)
    during = evaluate(schedule, 2, NOW + timedelta(minutes=1), TZ)
    assert during.level == "emergency" and during.entry_ids == ("notice:" + n.id,)
    assert during.next_change == NOW + timedelta(minutes=30)
    assert evaluate(schedule, 1, NOW + timedelta(minutes=1), TZ).level == "none"
    # The slide spec is text media in the store, named by its sha256.
    item = during.items[0]
    spec = parse_spec(store.path(item.media_sha256).read_bytes())
    assert item.kind == "text" and spec.background == "#B00020"
    assert spec.title["vi"] == "THÔNG BÁO KHẨN" and spec.body["km"] == SAMPLES["km"]
    # Withdrawn: the entry ends at the withdrawal.
    clear_notices(fresh_db, n.id, now=NOW + timedelta(minutes=5))
    entries, playlists = notice_schedule(fresh_db, store, settings, [1, 2], now=NOW + timedelta(minutes=5))
    schedule = load_schedule(fresh_db, extra_entries=entries, extra_playlists=playlists)
    assert evaluate(schedule, 2, NOW + timedelta(minutes=6), TZ).level == "none"


def test_cli_set_list_clear(runner, state_dir, tmp_path):
    """`gatecast notice` speaks the gate's language: Vietnamese unless language = "en";
    --json stays as it was."""
    result = runner.invoke(main, ["notice", "set", "--state", str(state_dir), "--text-vi", "Tạm dừng thông quan",
                                  "--text-en", "Clearance suspended", "--text-lo", "ຢຸດຊົ່ວຄາວ",
                                  "--level", "emergency", "--for", "30m", "--face", "1"])
    assert result.exit_code == 0, result.output
    assert ": trang khẩn cấp trên mặt 1 đến " in result.output, result.output
    listed = runner.invoke(main, ["notice", "list", "--state", str(state_dir), "--json"])
    notices = json.loads(listed.output)
    assert notices[0]["texts"]["lo"] == "ຢຸດຊົ່ວຄາວ" and notices[0]["faces"] == [1]
    assert notices[0]["level"] == "emergency" and notices[0]["expires_at"].endswith("+00:00")
    text = runner.invoke(main, ["notice", "list", "--state", str(state_dir)]).output
    assert f"thông báo {notices[0]['id']}: trang khẩn cấp trên mặt 1 đến " in text, text
    assert "[tại chỗ] vi/lo/en: Tạm dừng thông quan" in text
    # Refusals, in Vietnamese, and nothing stored.
    for args, said in [(["--for", "soon"], "không phải thời lượng dạng 30m, 2h hay 1h30m: 'soon'"),
                       (["--face", "9"], "cửa khẩu này không có mặt 9 (các mặt: 1, 2)"),
                       (["--title", "xx=A"], "--title cần dạng NGÔN_NGỮ=CHỮ")]:
        r = runner.invoke(main, ["notice", "set", "--state", str(state_dir), "--text-vi", "A", *args])
        assert r.exit_code == 1 and said in r.output, r.output
    r = runner.invoke(main, ["notice", "set", "--state", str(state_dir)])
    assert r.exit_code == 1 and "thông báo cần có chữ ở ít nhất một ngôn ngữ" in r.output
    r = runner.invoke(main, ["notice", "clear", "nope", "--state", str(state_dir)])
    assert r.exit_code == 1 and "không có thông báo đang hiện nào mã 'nope'" in r.output
    assert len(json.loads(runner.invoke(main, ["notice", "list", "--state", str(state_dir),
                                               "--json"]).output)) == 1
    cleared = runner.invoke(main, ["notice", "clear", "--state", str(state_dir)])
    assert cleared.exit_code == 0 and f"đã thu hồi 1 thông báo: {notices[0]['id']}" in cleared.output
    assert "không có thông báo nào" in runner.invoke(
        main, ["notice", "list", "--state", str(state_dir)]).output
    text = runner.invoke(main, ["notice", "list", "--all", "--state", str(state_dir)]).output
    assert "đã thu hồi lúc " in text, text

    # The same in English.
    en = ["--state", str(state_dir), "--config", str(tmp_path / "en.toml")]
    (tmp_path / "en.toml").write_text('language = "en"\n')
    result = runner.invoke(main, ["notice", "set", "--text-vi", "Chú ý", "--kind", "ticker", *en])
    assert result.exit_code == 0 and ": normal ticker on every face until withdrawn" in result.output
    r = runner.invoke(main, ["notice", "set", "--text-vi", "A", "--for", "soon", *en])
    assert r.exit_code == 1 and "not a duration like 30m, 2h or 1h30m: 'soon'" in r.output
    assert "[local] vi: Chú ý" in runner.invoke(main, ["notice", "list", *en]).output
    assert "withdrew 1 notice(s)" in runner.invoke(main, ["notice", "clear", *en]).output
    assert "no notices" in runner.invoke(main, ["notice", "list", *en]).output


def test_every_notice_string_is_translated():
    tool = Path(__file__).resolve().parents[2] / "scripts" / "admin_catalogues.py"
    r = subprocess.run([sys.executable, str(tool), "--check", "--area", "text"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_refuses_a_language_the_fonts_cannot_draw(runner, state_dir, tmp_path):
    cfg = tmp_path / "fonts.toml"
    cfg.write_text('text_fonts = { km = "Noto Sans Lao" }\n')
    result = runner.invoke(main, ["notice", "set", "--state", str(state_dir), "--config", str(cfg),
                                  "--text-vi", "Chú ý", "--text-km", SAMPLES["km"], "--kind", "ticker"])
    assert result.exit_code == 1
    assert "Khmer (km) text cannot be shown" in result.output
    fonts = runner.invoke(main, ["text", "fonts", "--state", str(state_dir), "--config", str(cfg)])
    assert fonts.exit_code == 1 and "km Tiếng Khmer LỖI  " in fonts.output, fonts.output
    assert "phông chữ không vẽ được: Tiếng Khmer" in fonts.output
    cfg.write_text(cfg.read_text() + 'language = "en"\n')
    fonts = runner.invoke(main, ["text", "fonts", "--state", str(state_dir), "--config", str(cfg)])
    assert fonts.exit_code == 1 and "km Khmer      FAIL" in fonts.output and "fonts cannot draw: Khmer" in fonts.output


def test_cli_text_fonts_and_render(runner, state_dir, tmp_path):
    fonts = runner.invoke(main, ["text", "fonts", "--state", str(state_dir)])
    assert fonts.exit_code == 0 and fonts.output.count(" đạt ") == 5, fonts.output
    spec = tmp_path / "slide.json"
    spec.write_text(json.dumps({"body": {"zh": SAMPLES["zh"], "lo": SAMPLES["lo"]}, "layout": "in_turn"}))
    out = tmp_path / "preview.png"
    result = runner.invoke(main, ["text", "render", str(spec), "--size", "640x360", "-o", str(out),
                                  "--state", str(state_dir)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "preview-1.png").is_file() and (tmp_path / "preview-2.png").is_file()
    spec.write_text("{}")
    bad = runner.invoke(main, ["text", "render", str(spec), "-o", str(out), "--state", str(state_dir)])
    assert bad.exit_code == 1 and "needs a body or a title" in bad.output


def test_a_central_emergency_the_fonts_cannot_draw_does_not_blank_the_faces(fresh_db, tmp_path):
    """A release's notice skips the local glyph check; the player leaves it
    out (and says why, once) instead of preempting the schedule with black."""
    store = MediaStore(tmp_path / "media")
    set_notice(fresh_db, {"km": SAMPLES["km"]}, level="emergency", source="central", now=NOW)
    settings = {"image_duration_s": 10.0, "text_fonts": {"km": "Noto Sans"}}
    for _ in range(2):
        entries, playlists = notice_schedule(fresh_db, store, settings, [1], now=NOW)
        assert entries == [] and playlists == {}
    events = list(fresh_db.query("SELECT message FROM event WHERE code = 'notice_unrenderable'"))
    assert len(events) == 1 and "Khmer (km) text cannot be shown" in events[0]["message"]
