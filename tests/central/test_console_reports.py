"""The console's Reports page (central/reportview.py): the month's figures, charts and
tables for a signed-in viewer, and its PDF, XLSX and CSV downloads. On both stores."""

from __future__ import annotations

import csv
import io

from central.intake import record_proof_of_play

from tests.support.console import Console, make_user

GATE = "huu-nghi"


def test_the_reports_page_and_its_downloads(central, console_app):
    central.gate(GATE, faces=(1, 2))
    sha = "a" * 64
    record_proof_of_play(central.db, GATE, {"batch_id": None, "rows": [
        {"id": i, "installation": "i1", "face_id": 1 + i % 2, "media_sha256": sha,
         "entry_id": None, "level": "normal", "started_at": f"2026-11-1{i}T02:00:00.000+00:00",
         "ended_at": f"2026-11-1{i}T02:30:00.000+00:00", "outcome": "completed"}
        for i in range(1, 4)]})
    make_user(central.db, "hoa", "viewer")
    console = Console(console_app)
    assert console.client.get("/reports/?month=2026-11").status_code in (302, 303)
    console.login("hoa")
    page = console.text("/reports/?month=2026-11")
    assert "tháng 11/2026" in page and "Hữu Nghị" in page
    assert page.count("<rect") >= 30 + 2  # a bar per day, and the gate's share
    assert "1,5" in page  # three plays of half an hour: 1.5 hours on screen
    # The tables' figures in the reader's locale too (hours with two decimals).
    assert "<td>1,50</td>" in page and "<td>1.50</td>" not in page

    r = console.get("/reports/2026-11.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    r = console.get("/reports/2026-11.xlsx")
    assert r.status_code == 200 and r.data.startswith(b"PK")
    r = console.get("/reports/2026-11/theo-ngay.csv")
    days = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert days[0][0] == "Ngày" and len(days) == 31
    assert [d[1] for d in days[11:14]] == ["1", "1", "1"]  # 11th, 12th, 13th
    assert console.get("/reports/2026-11/nothing.csv").status_code == 404
    assert console.get("/reports/?month=2026-13").status_code == 400
