"""The reports' tables as people read them (Vietnamese headers, hours, percent)
and their files: CSV (UTF-8 with a BOM, so spreadsheet programs read the
diacritics), XLSX (openpyxl, a sheet per table, charts on the summary) and JSON.

A `Table` is a title, columns and rows of central.reports dicts; JSON keeps the
dicts as they are (seconds and shares as numbers), the others show hours and %.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | hours (from seconds) | share (0..1 as %) | day


@dataclass
class Table:
    name: str  # file-safe: the CSV's and the sheet's name
    title: str
    columns: tuple[Column, ...]
    rows: list[dict]


def cell(column: Column, row: dict):
    """A row's value for people: seconds as hours (2 decimals), shares as %."""
    value = row.get(column.key)
    if value is None:
        return "" if column.kind in ("text", "share", "day") else 0
    if column.kind == "hours":
        return round(value / 3600.0, 2)
    if column.kind == "share":
        return round(value * 100.0, 1)
    return value


GATE_COLUMNS = (Column("gate_id", "Mã cổng"), Column("gate_name", "Tên cổng"))
DARK_COLUMNS = (
    Column("dark_power_schedule_s", "Tắt theo lịch nguồn (giờ)", "hours"),
    Column("dark_kill_switch_s", "Tắt khẩn (giờ)", "hours"),
    Column("dark_outage_s", "Mất điện/máy dừng (giờ)", "hours"),
    Column("dark_error_s", "Lỗi, không có hình (giờ)", "hours"),
)

PLAYS_COLUMNS = (
    Column("period", "Kỳ"), *GATE_COLUMNS, Column("face_id", "Mặt", "int"),
    Column("media_name", "Nội dung"), Column("media_sha256", "Mã nội dung (sha256)"),
    Column("playlist_name", "Danh sách phát"),
    Column("plays", "Lượt phát", "int"), Column("completed", "Phát trọn", "int"),
    Column("errors", "Lỗi", "int"), Column("airtime_s", "Thời lượng phát (giờ)", "hours"),
)

UPTIME_COLUMNS = (
    *GATE_COLUMNS, Column("face_id", "Mặt", "int"),
    Column("plays", "Lượt phát", "int"), Column("airtime_s", "Thời lượng phát (giờ)", "hours"),
    Column("scheduled_s", "Thời lượng theo lịch (giờ)", "hours"),
    Column("shown_share", "Tỷ lệ phát theo lịch (%)", "share"),
    *DARK_COLUMNS, Column("offline_s", "Mất kết nối của cổng (giờ)", "hours"),
)

GATE_SUMMARY_COLUMNS = (
    *GATE_COLUMNS, Column("faces", "Số mặt", "int"),
    Column("plays", "Lượt phát", "int"), Column("airtime_s", "Thời lượng phát (giờ)", "hours"),
    Column("scheduled_s", "Thời lượng theo lịch (giờ)", "hours"),
    Column("shown_share", "Tỷ lệ phát theo lịch (%)", "share"),
    *DARK_COLUMNS, Column("offline_s", "Mất kết nối (giờ)", "hours"),
)

DAY_COLUMNS = (
    Column("day", "Ngày", "day"), Column("plays", "Lượt phát", "int"),
    Column("airtime_s", "Thời lượng phát (giờ)", "hours"),
    Column("scheduled_s", "Thời lượng theo lịch (giờ)", "hours"),
    Column("shown_share", "Tỷ lệ phát theo lịch (%)", "share"),
)

MEDIA_COLUMNS = (
    Column("media_name", "Nội dung"), Column("media_sha256", "Mã nội dung (sha256)"),
    Column("plays", "Lượt phát", "int"), Column("airtime_s", "Thời lượng phát (giờ)", "hours"),
    Column("gates", "Số cổng phát", "int"),
)

PROVINCE_COLUMNS = (
    Column("gates", "Số cổng", "int"), Column("faces", "Số mặt", "int"),
    Column("plays", "Lượt phát", "int"), Column("errors", "Lỗi", "int"),
    Column("airtime_s", "Thời lượng phát (giờ)", "hours"),
    Column("scheduled_s", "Thời lượng theo lịch (giờ)", "hours"),
    Column("shown_share", "Tỷ lệ phát theo lịch (%)", "share"),
    *DARK_COLUMNS, Column("offline_s", "Mất kết nối, cộng các cổng (giờ)", "hours"),
)


def plays_table(rows: list[dict]) -> Table:
    return Table("luot-phat", "Lượt phát và thời lượng phát", PLAYS_COLUMNS, rows)


def uptime_table(rows: list[dict]) -> Table:
    return Table("hoat-dong", "Thời gian hoạt động theo mặt", UPTIME_COLUMNS, rows)


def monthly_tables(report: dict) -> list[Table]:
    """The monthly report's tables, in the order the page, PDF and XLSX show them."""
    return [
        Table("tong-hop-tinh", "Tổng hợp toàn tỉnh", PROVINCE_COLUMNS, [report["province"]]),
        Table("theo-cong", "Theo cổng", GATE_SUMMARY_COLUMNS, report["gates"]),
        Table("theo-mat", "Theo mặt hiển thị", UPTIME_COLUMNS, report["faces"]),
        Table("theo-ngay", "Theo ngày", DAY_COLUMNS, report["days"]),
        Table("noi-dung", "Nội dung phát nhiều nhất", MEDIA_COLUMNS, report["top_media"]),
    ]


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([c.label for c in table.columns])
    for row in table.rows:
        w.writerow([cell(c, row) for c in table.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_json(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")


def to_xlsx(tables: list[Table], title: str, charts: bool = False) -> bytes:
    """One sheet per table (the first one named after `title`'s table); with
    `charts`, the daily sheet gets a column chart of airtime and the gates sheet
    a bar chart of the share shown."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for table in tables:
        ws = wb.create_sheet(table.title[:31])
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([table.title])
        ws.append([c.label for c in table.columns])
        for i, _c in enumerate(table.columns, start=1):
            ws.cell(row=3, column=i).font = Font(bold=True)
            ws.cell(row=3, column=i).alignment = Alignment(wrap_text=True, vertical="top")
            ws.column_dimensions[get_column_letter(i)].width = 16
        for row in table.rows:
            ws.append([cell(c, row) for c in table.columns])
        ws.freeze_panes = "A4"
        if not charts or not table.rows:
            continue
        keys = [c.key for c in table.columns]
        if table.name == "theo-ngay":
            chart = BarChart()
            chart.title = "Thời lượng phát theo ngày (giờ)"
            col = keys.index("airtime_s") + 1
            chart.add_data(Reference(ws, min_col=col, min_row=3, max_row=3 + len(table.rows)),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=4, max_row=3 + len(table.rows)))
            chart.width, chart.height = 24, 9
            ws.add_chart(chart, f"{get_column_letter(len(keys) + 2)}4")
        elif table.name == "theo-cong":
            chart = BarChart()
            chart.type = "bar"
            chart.title = "Tỷ lệ phát theo lịch (%)"
            col = keys.index("shown_share") + 1
            chart.add_data(Reference(ws, min_col=col, min_row=3, max_row=3 + len(table.rows)),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=2, min_row=4, max_row=3 + len(table.rows)))
            chart.width, chart.height = 18, max(6, 0.6 * len(table.rows))
            ws.add_chart(chart, f"{get_column_letter(len(keys) + 2)}4")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
