"""Reports (central/reports.py) from the totals intake keeps: every figure here is
worked out by hand from the rows and heartbeats the test sends. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from central import reports
from central.intake import prune_proof_of_play, record_heartbeat, record_proof_of_play
from kiosk.store import iso

from tests.support.media import make_image

GATE = "huu-nghi"
T = datetime(2026, 11, 10, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def desk(central, tmp_path):
    """A gate with two faces, media A and B, and the playlist 'main' on it."""
    central.gate(GATE, faces=(1, 2))
    a = central.media(make_image(tmp_path / "a.png", color=(200, 0, 0)))
    b = central.media(make_image(tmp_path / "b.png", color=(0, 200, 0)))
    central.show(GATE, [a, b], playlist="main")
    [entry] = central.db.query("SELECT id FROM schedule_entry")
    return {"a": a, "b": b, "entry": entry["id"], "central": central}


def play(i, face, sha, entry, start, end, outcome="completed"):
    return {"id": i, "installation": "i1", "face_id": face, "media_sha256": sha,
            "entry_id": entry, "level": "normal", "started_at": start, "ended_at": end,
            "outcome": outcome}


def send(central, rows):
    return record_proof_of_play(central.db, GATE, {"batch_id": None, "rows": rows})


def test_plays_and_airtime_per_face_media_playlist_and_local_day(desk):
    central, a, b, e = desk["central"], desk["a"], desk["b"], desk["entry"]
    rows = [
        play(1, 1, a, e, "2026-11-10T01:00:00.000+00:00", "2026-11-10T01:00:30.000+00:00"),
        play(2, 1, b, e, "2026-11-10T01:00:30.000+00:00", "2026-11-10T01:01:00.000+00:00"),
        # 23:59:50 in Hà Nội: still the 10th; the next one starts on the 11th.
        play(3, 1, a, e, "2026-11-10T16:59:50.000+00:00", "2026-11-10T17:00:20.000+00:00"),
        play(4, 1, a, e, "2026-11-10T17:00:20.000+00:00", "2026-11-10T17:00:30.000+00:00",
             "preempted"),
        play(5, 2, b, e, "2026-11-10T02:00:00+07:00", "2026-11-10T02:00:05+07:00", "error"),
        play(6, 2, a, None, "2026-11-10T09:00:00+07:00", "2026-11-10T09:00:45+07:00", "skipped"),
    ]
    assert send(central, rows)["new"] == 6
    assert send(central, rows[:3])["new"] == 0  # sent twice: counted once

    both = reports.period("2026-11-10", "2026-11-11")
    got = {(r["face_id"], r["media_sha256"], r["playlist_name"]):
           (r["plays"], r["completed"], r["errors"], r["airtime_s"])
           for r in reports.plays(central.db, both, GATE)}
    assert got == {(1, a, "main"): (3, 2, 0, 70.0), (1, b, "main"): (1, 1, 0, 30.0),
                   (2, b, "main"): (0, 0, 1, 0.0), (2, a, ""): (1, 0, 0, 45.0)}

    by_day = {(r["period"], r["face_id"], r["media_sha256"]): (r["plays"], r["airtime_s"])
              for r in reports.plays(central.db, both, GATE, by="day")}
    assert by_day[("2026-11-10", 1, a)] == (2, 60.0)
    assert by_day[("2026-11-11", 1, a)] == (1, 10.0)
    assert len(by_day) == 5
    only_11th = reports.plays(central.db, reports.period("2026-11-11", "2026-11-11"))
    assert [(r["gate_id"], r["plays"], r["airtime_s"]) for r in only_11th] == [(GATE, 1, 10.0)]

    # Central's retention folds and deletes raw rows: the report does not change.
    prune_proof_of_play(central.db, datetime(2100, 1, 1, tzinfo=timezone.utc))
    assert central.db.count("proof_of_play") == 0
    assert {(r["face_id"], r["media_sha256"], r["playlist_name"]):
            (r["plays"], r["completed"], r["errors"], r["airtime_s"])
            for r in reports.plays(central.db, both, GATE)} == got


def beat(central, sent, received, faces):
    record_heartbeat(central.db, GATE, {"sent_at": iso(sent), "faces": faces}, now=received,
                     interval_s=60.0, tz=VN)


SHOWN = {"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": "a" * 64}
BLANKED = {**SHOWN, "blanked": 1}
OFF = {"face_id": 2, "power": "off", "blanked": 0, "playing_sha256": None}
NOTHING = {**OFF, "power": "on"}


def test_uptime_dark_time_by_cause_offline_time_and_share_shown(desk):
    central, a, e = desk["central"], desk["a"], desk["entry"]
    s = lambda n: T + timedelta(seconds=n)  # noqa: E731
    beat(central, s(0), s(0), [SHOWN, OFF])
    beat(central, s(60), s(60), [BLANKED, OFF])      # [0, 60): face 1 shown, 2 off
    beat(central, s(120), s(120), [SHOWN, NOTHING])  # [60, 120): 1 kill switch, 2 off
    beat(central, s(720), s(720), [SHOWN, NOTHING])  # gate down: 60 s as before, 540 outage
    beat(central, s(780), s(1500), [SHOWN, NOTHING])  # link down: queued, sent at 1500
    beat(central, s(840), s(1500), [SHOWN, NOTHING])
    beat(central, s(840), s(1510), [SHOWN, NOTHING])  # the same one again: no face time
    # Face 1 showed 30 + 45 + 120 s of content by its proof of play.
    send(central, [
        play(1, 1, a, e, iso(s(0)), iso(s(30))),
        play(2, 1, a, e, iso(s(130)), iso(s(175)), "skipped"),
        play(3, 1, a, e, iso(s(720)), iso(s(840))),
        play(4, 1, a, e, iso(s(840)), iso(s(841)), "error"),
    ])
    [face1, face2] = reports.uptime(central.db, reports.period("2026-11-10", "2026-11-10"), GATE)
    assert face1 == {
        "gate_id": GATE, "gate_name": "Hữu Nghị", "face_id": 1, "plays": 3, "errors": 1,
        "airtime_s": 195.0, "scheduled_s": 780.0, "shown_share": 0.25, "seen_shown_s": 240.0,
        "dark_power_schedule_s": 0.0, "dark_kill_switch_s": 60.0, "dark_outage_s": 540.0,
        "dark_error_s": 0.0, "offline_s": 1260.0}
    assert face2 == {
        "gate_id": GATE, "gate_name": "Hữu Nghị", "face_id": 2, "plays": 0, "errors": 0,
        "airtime_s": 0.0, "scheduled_s": 720.0, "shown_share": 0.0, "seen_shown_s": 0.0,
        "dark_power_schedule_s": 120.0, "dark_kill_switch_s": 0.0, "dark_outage_s": 540.0,
        "dark_error_s": 180.0, "offline_s": 1260.0}
    online = central.db.scalar("SELECT seconds FROM face_time_day WHERE face_id = 0 "
                               "AND state = 'online'")
    assert online == 250.0

    month = reports.monthly(central.db, reports.month_period("2026-11"))
    assert month["period"] == {"from": "2026-11-01", "to": "2026-11-30", "days": 30}
    p = month["province"]
    assert (p["gates"], p["faces"], p["plays"], p["airtime_s"], p["scheduled_s"]) == (
        1, 2, 3, 195.0, 1500.0)
    assert p["shown_share"] == 0.13  # 195 / 1500
    assert (p["dark_outage_s"], p["dark_error_s"], p["offline_s"]) == (1080.0, 180.0, 1260.0)
    tenth = next(d for d in month["days"] if d["day"] == "2026-11-10")
    assert tenth == {"day": "2026-11-10", "plays": 3, "airtime_s": 195.0,
                     "scheduled_s": 1500.0, "shown_share": 0.13}
    assert sum(d["plays"] for d in month["days"]) == 3
    assert [(m["media_sha256"], m["plays"], m["gates"]) for m in month["top_media"]] == [(a, 3, 1)]


def test_time_is_split_at_local_midnight(desk):
    central = desk["central"]
    midnight = datetime(2026, 11, 10, 17, 0, tzinfo=timezone.utc)  # 00:00 on the 11th
    beat(central, midnight - timedelta(seconds=45), midnight - timedelta(seconds=45),
         [SHOWN, OFF])
    beat(central, midnight + timedelta(seconds=15), midnight + timedelta(seconds=15),
         [SHOWN, OFF])
    got = {(r["day"], r["face_id"], r["state"]): r["seconds"] for r in central.db.query(
        "SELECT day, face_id, state, seconds FROM face_time_day")}
    assert got == {("2026-11-10", 1, "shown"): 45.0, ("2026-11-11", 1, "shown"): 15.0,
                   ("2026-11-10", 2, "power_schedule"): 45.0,
                   ("2026-11-11", 2, "power_schedule"): 15.0,
                   ("2026-11-10", 0, "online"): 45.0, ("2026-11-11", 0, "online"): 15.0}


@pytest.mark.parametrize("first,last,message", [
    ("2026-11-30", "2026-11-01", "trước ngày bắt đầu"),
    ("2026-13-01", "2026-12-01", "Ngày bắt đầu '2026-13-01' không hợp lệ"),
    ("2026-11-01", "30/11/2026", "Ngày kết thúc '30/11/2026' không hợp lệ"),
    ("", "2026-11-01", "Cần cả ngày bắt đầu"),
    ("2024-01-01", "2026-11-01", "dài nhất 400 ngày"),
])
def test_bad_periods_are_refused_with_the_reason(first, last, message):
    with pytest.raises(reports.ReportError, match=message):
        reports.period(first, last)


def test_an_unknown_gate_is_named(desk):
    with pytest.raises(reports.ReportError, match="Không có cửa khẩu 'nowhere'"):
        reports.uptime(desk["central"].db, reports.period("2026-11-01", "2026-11-02"), "nowhere")


def test_the_totals_start_with_the_plays_central_already_holds(tmp_path, central_database_url):
    from alembic import command

    from central.db import Store, _alembic_config, default_url, migrate

    url = central_database_url or default_url(tmp_path / "central")
    (tmp_path / "central").mkdir()
    store = Store(url)
    sha = "a" * 64
    try:
        with store.engine.connect() as conn:  # a central at 0002, holding plays
            command.upgrade(_alembic_config(conn), "0002")
            conn.commit()
        with store.transaction(write=True) as conn:
            for row_id, start, end, outcome in (
                    (1, "2026-11-01T23:30:00+07:00", "2026-11-01T23:30:30+07:00", "completed"),
                    (2, "2026-11-01T17:30:00.000+00:00", "2026-11-01T17:30:20.000+00:00",
                     "completed"),
                    (3, "2026-11-01T17:31:00.000+00:00", "2026-11-01T17:31:01.000+00:00",
                     "error"),
                    (4, "2026-11-01T17:32:00.000+00:00", None, "playing")):
                conn.exec_driver_sql(
                    "INSERT INTO proof_of_play (gate_id, installation, row_id, face_id, "
                    "media_sha256, entry_id, started_at, ended_at, outcome, received_at) "
                    f"VALUES ('{GATE}', 'i1', {row_id}, 1, '{sha}', 'e1', '{start}', "
                    f"{'NULL' if end is None else repr(end)}, '{outcome}', '{start}')")
            conn.exec_driver_sql(
                "INSERT INTO proof_of_play_daily (gate_id, day, face_id, media_sha256, outcome, "
                f"plays, airtime_s) VALUES ('{GATE}', '2026-10-05', 2, '{sha}', 'completed', "
                "40, 400.0)")
    finally:
        store.close()
    migrate(url)
    store = Store(url)
    try:
        got = {(r["day"], r["face_id"], r["entry_id"], r["outcome"]): (r["plays"], r["airtime_s"])
               for r in store.query("SELECT * FROM play_day")}
        assert got == {("2026-11-01", 1, "e1", "completed"): (1, 30.0),
                       ("2026-11-02", 1, "e1", "completed"): (1, 20.0),
                       ("2026-11-02", 1, "e1", "error"): (1, 0.0),
                       ("2026-10-05", 2, "", "completed"): (40, 400.0)}
    finally:
        store.close()


def _two_plays(desk):
    central, a, e = desk["central"], desk["a"], desk["entry"]
    send(central, [
        play(1, 1, a, e, "2026-11-10T01:00:00.000+00:00", "2026-11-10T01:30:00.000+00:00"),
        play(2, 2, desk["b"], e, "2026-11-12T01:00:00.000+00:00",
             "2026-11-12T01:00:36.000+00:00", "skipped"),
    ])


def test_report_commands_write_csv_json_and_xlsx(desk, runner, tmp_path):
    import csv
    import io
    import json
    import traceback

    from openpyxl import load_workbook

    from kiosk.cli import main

    central = desk["central"]
    _two_plays(desk)
    cfg = central.state_dir.parent / f"{central.state_dir.name}.toml"

    def report(*args, ok=True):
        result = runner.invoke(main, ["central", "report", *args, "--state",
                                      str(central.state_dir), "--config", str(cfg)])
        # CliRunner keeps an unexpected exception to itself (exit code 1, often no
        # output): say it, so that a failure here names its cause.
        assert (result.exit_code == 0) == ok, result.output + "".join(
            traceback.format_exception(*result.exc_info) if result.exc_info else ())
        return result

    period = ("--from", "2026-11-01", "--to", "2026-11-30")
    out = report("plays", "--gate", GATE, *period).stdout_bytes
    assert out.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(out.decode("utf-8-sig"))))
    assert table[0][:4] == ["Kỳ", "Mã cửa khẩu", "Tên cửa khẩu", "Mặt"]
    hours = table[0].index("Thời lượng phát (giờ)")
    assert sorted((r[3], r[hours]) for r in table[1:]) == [("1", "0.5"), ("2", "0.01")]

    data = json.loads(report("uptime", "--gate", GATE, *period, "--format", "json").output)
    assert data["period"] == {"from": "2026-11-01", "to": "2026-11-30", "days": 30}
    assert [(r["face_id"], r["plays"], r["airtime_s"]) for r in data["rows"]] == [
        (1, 1, 1800.0), (2, 1, 36.0)]

    xlsx = tmp_path / "plays.xlsx"
    report("plays", *period, "--by", "day", "--format", "xlsx", "--output", str(xlsx))
    sheet = load_workbook(xlsx).active
    values = [[c.value for c in r] for r in sheet.iter_rows(min_row=4)]
    assert sorted((v[0], v[3], v[8]) for v in values) == [("2026-11-10", 1, 1),
                                                          ("2026-11-12", 2, 1)]

    for args, message in (
            (("plays", "--from", "2026-11-30", "--to", "2026-11-01"), "trước ngày bắt đầu"),
            (("uptime", "--from", "1/11/2026", "--to", "2026-11-30"), "không hợp lệ"),
            (("uptime", "--gate", "nowhere", *period), "Không có cửa khẩu 'nowhere'"),
            (("monthly", "--month", "2026-13", "--output", str(tmp_path / "x.pdf")),
             "Tháng '2026-13' không hợp lệ")):
        result = report(*args, ok=False)
        assert result.exit_code == 1 and message in result.output, result.output
    assert not (tmp_path / "x.pdf").exists()


def test_reports_api_answers_json_to_people_only(desk, central_server):
    import json

    import urllib3

    central = desk["central"]
    _two_plays(desk)
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=60))
    url = central_server.url + "/api/v1/reports"
    assert http.request("GET", f"{url}/plays?from=2026-11-01&to=2026-11-30").status == 401
    gate_token = {"Authorization": f"Bearer {central.tokens[GATE]}"}
    assert http.request("GET", f"{url}/plays?from=2026-11-01&to=2026-11-30",
                        headers=gate_token).status == 401
    r = http.request("GET", f"{url}/plays?from=2026-11-01&to=2026-11-30&gate={GATE}&by=day",
                     headers=central.viewer_auth)
    assert r.status == 200, r.data
    rows = json.loads(r.data)["rows"]
    assert [(x["period"], x["face_id"], x["plays"], x["airtime_s"]) for x in rows] == [
        ("2026-11-10", 1, 1, 1800.0), ("2026-11-12", 2, 1, 36.0)]
    r = http.request("GET", f"{url}/uptime?from=2026-11-12&to=2026-11-12",
                     headers=central.viewer_auth)
    assert [(x["face_id"], x["airtime_s"]) for x in json.loads(r.data)["rows"]] == [
        (1, 0.0), (2, 36.0)]
    r = http.request("GET", f"{url}/monthly?month=2026-11", headers=central.viewer_auth)
    assert json.loads(r.data)["province"]["plays"] == 2
    for query, status, message in (("plays?from=2026-11-30&to=2026-11-01", 400, "trước"),
                                   ("uptime?from=2026-11-01&to=2026-11-30&gate=x", 404,
                                    "Không có cửa khẩu 'x'"),
                                   ("monthly?month=11-2026", 400, "Tháng '11-2026' không hợp lệ")):
        r = http.request("GET", f"{url}/{query}", headers=central.viewer_auth)
        assert r.status == status and message in json.loads(r.data)["error"], r.data


def test_the_monthly_report_as_pdf_and_xlsx_in_vietnamese(desk, tmp_path):
    import subprocess

    from openpyxl import load_workbook

    from central.report_pdf import monthly_pdf
    from central.report_tables import monthly_tables, to_xlsx

    central = desk["central"]
    _two_plays(desk)
    month = reports.monthly(central.db, reports.month_period("2026-11"))
    pdf = tmp_path / "bc.pdf"
    pdf.write_bytes(monthly_pdf(month))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    # The text layer holds the words with their diacritics (drawn from embedded Noto Sans).
    for words in ("Báo cáo hoạt động cụm thông tin điện tử công cộng tại cửa khẩu, tháng 11/2026",
                  "Tỷ lệ phát theo lịch", "Hữu Nghị", "Theo cửa khẩu", "Nội dung phát nhiều nhất"):
        assert words in text, words
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout
    assert "NotoSans" in fonts and "Helvetica" not in fonts
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 5000

    xlsx = tmp_path / "bc.xlsx"
    xlsx.write_bytes(to_xlsx(monthly_tables(month), reports.monthly_title(month), charts=True))
    book = load_workbook(xlsx)
    assert book.sheetnames == ["Tổng hợp toàn tỉnh", "Theo cửa khẩu", "Theo mặt hiển thị",
                               "Theo ngày", "Nội dung phát nhiều nhất", "Theo ngôn ngữ"]
    days = book["Theo ngày"]
    assert len(days._charts) == 1 and len(book["Theo cửa khẩu"]._charts) == 1
    # A gate is named as the console names it ("Cửa khẩu"), in the file and on the page.
    heads = [c.value for row in book["Theo cửa khẩu"].iter_rows(max_row=4) for c in row]
    assert "Mã cửa khẩu" in heads and "Tên cửa khẩu" in heads and "Mã cổng" not in heads
    assert "Tên cửa khẩu" in text and "cổng" not in text
    rows = {r[0].value: r[1].value for r in days.iter_rows(min_row=4)}
    assert len(rows) == 30 and rows["2026-11-10"] == 1 and rows["2026-11-12"] == 1
    assert sum(rows.values()) == 2


def test_plays_and_airtime_per_language(desk, runner, tmp_path):
    """Media carry the language they were uploaded with (CLI --language here,
    the Library form in test_console_pages); plays of media with none count as
    unspecified. Hand-counted: vi 30 + 20 s, en 10 s and an error, none 40 s."""
    from central.report_tables import monthly_tables, to_csv
    from kiosk.cli import main

    central, a, e = desk["central"], desk["a"], desk["entry"]
    cfg = central.state_dir.parent / f"{central.state_dir.name}.toml"

    from central.users import add_user

    token = add_user(central.db, "minh", "editor")

    def add(path, *language):
        return runner.invoke(main, ["central", "media", "add", str(path), *language,
                                    "--as", "minh", "--token", token,
                                    "--state", str(central.state_dir), "--config", str(cfg)])

    before = central.db.count("media")
    refused = add(make_image(tmp_path / "x.png", color=(9, 9, 9)), "--language", "fr")
    assert refused.exit_code == 1 and "fr" in refused.output, refused.output
    assert central.db.count("media") == before  # nothing stored
    vi = add(make_image(tmp_path / "vi.png", color=(1, 2, 3)), "--language", "vi")
    en = add(make_image(tmp_path / "en.png", color=(3, 2, 1)), "--language", "en")
    assert vi.exit_code == 0 and en.exit_code == 0, vi.output + en.output
    c, d = vi.output.split()[0], en.output.split()[0]
    assert central.db.scalar(f"SELECT language FROM media WHERE sha256 = '{c}'") == "vi"

    send(central, [
        play(1, 1, c, e, "2026-11-10T01:00:00+00:00", "2026-11-10T01:00:30+00:00"),
        play(2, 1, c, e, "2026-11-10T01:00:30+00:00", "2026-11-10T01:00:50+00:00", "skipped"),
        play(3, 2, d, e, "2026-11-11T01:01:00+00:00", "2026-11-11T01:01:10+00:00"),
        play(4, 2, d, e, "2026-11-11T01:01:10+00:00", "2026-11-11T01:01:12+00:00", "error"),
        play(5, 1, a, e, "2026-11-20T01:02:00+00:00", "2026-11-20T01:02:40+00:00"),
        # 1 December in Hà Nội: another month.
        play(6, 1, c, e, "2026-11-30T17:00:00+00:00", "2026-11-30T17:01:40+00:00"),
    ])
    month = reports.monthly(central.db, reports.month_period("2026-11"))
    assert [(r["language"], r["language_name"], r["media"], r["plays"], r["errors"],
             r["airtime_s"], r["airtime_share"]) for r in month["languages"]] == [
        ("vi", "Tiếng Việt", 1, 2, 0, 50.0, 0.5),
        ("", "không xác định", 1, 1, 0, 40.0, 0.4),
        ("en", "Tiếng Anh", 1, 1, 1, 10.0, 0.1)]
    rows = reports.plays(central.db, reports.month_period("2026-11"), GATE)
    assert {r["media_sha256"]: r["language_name"] for r in rows} == {
        c: "Tiếng Việt", d: "Tiếng Anh", a: "không xác định"}

    [table] = [t for t in monthly_tables(month) if t.name == "theo-ngon-ngu"]
    lines = to_csv(table).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Ngôn ngữ,") and lines[0].endswith(
        "Tỷ lệ trên tổng thời lượng phát (%)")
    assert lines[1] == "Tiếng Việt,1,2,0,0.01,50.0"
    assert lines[3] == "Tiếng Anh,1,1,1,0.0,10.0"
    assert add(tmp_path / "vi.png", "--text", "--language", "vi").exit_code == 2
