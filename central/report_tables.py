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

from kiosk.web.i18n import N_

# The province's report is read in Vietnamese: labels are English msgids said
# through central's catalogue (central.i18n), like the alerts.
from central.i18n import say


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


def shown(column: Column, row: dict, locale: str) -> str:
    """A row's value on a page, in the reader's locale (84,25 in Vietnamese):
    hours with two decimals, shares with one, counts whole."""
    from babel.numbers import format_decimal

    value = cell(column, row)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    pattern = {"hours": "#,##0.00", "share": "#,##0.0"}.get(column.kind, "#,##0.##")
    return format_decimal(value, format=pattern, locale=locale)


GATE_COLUMNS = (Column("gate_id", N_("Gate id")), Column("gate_name", N_("Gate name")))
DARK_COLUMNS = (
    Column("dark_power_schedule_s", N_("Dark by power schedule (h)"), "hours"),
    Column("dark_kill_switch_s", N_("Dark by kill switch (h)"), "hours"),
    Column("dark_outage_s", N_("Dark by outage (h)"), "hours"),
    Column("dark_error_s", N_("Dark by error, nothing shown (h)"), "hours"),
)

PLAYS_COLUMNS = (
    Column("period", N_("Period")), *GATE_COLUMNS, Column("face_id", N_("Face"), "int"),
    Column("media_name", N_("Media")), Column("media_sha256", N_("Media id (sha256)")),
    Column("language_name", N_("Language")), Column("playlist_name", N_("Playlist")),
    Column("plays", N_("Plays"), "int"), Column("completed", N_("Played to the end"), "int"),
    Column("errors", N_("Errors"), "int"), Column("airtime_s", N_("Airtime (h)"), "hours"),
)

UPTIME_COLUMNS = (
    *GATE_COLUMNS, Column("face_id", N_("Face"), "int"),
    Column("plays", N_("Plays"), "int"), Column("airtime_s", N_("Airtime (h)"), "hours"),
    Column("scheduled_s", N_("Scheduled airtime (h)"), "hours"),
    Column("shown_share", N_("Share of scheduled airtime shown (%)"), "share"),
    *DARK_COLUMNS, Column("offline_s", N_("Gate offline (h)"), "hours"),
)

GATE_SUMMARY_COLUMNS = (
    *GATE_COLUMNS, Column("faces", N_("Faces"), "int"),
    Column("plays", N_("Plays"), "int"), Column("airtime_s", N_("Airtime (h)"), "hours"),
    Column("scheduled_s", N_("Scheduled airtime (h)"), "hours"),
    Column("shown_share", N_("Share of scheduled airtime shown (%)"), "share"),
    *DARK_COLUMNS, Column("offline_s", N_("Offline (h)"), "hours"),
)

DAY_COLUMNS = (
    Column("day", N_("Day"), "day"), Column("plays", N_("Plays"), "int"),
    Column("airtime_s", N_("Airtime (h)"), "hours"),
    Column("scheduled_s", N_("Scheduled airtime (h)"), "hours"),
    Column("shown_share", N_("Share of scheduled airtime shown (%)"), "share"),
)

MEDIA_COLUMNS = (
    Column("media_name", N_("Media")), Column("media_sha256", N_("Media id (sha256)")),
    Column("plays", N_("Plays"), "int"), Column("airtime_s", N_("Airtime (h)"), "hours"),
    Column("gates", N_("Gates showing it"), "int"),
)

LANGUAGE_COLUMNS = (
    Column("language_name", N_("Language")), Column("media", N_("Media items"), "int"),
    Column("plays", N_("Plays"), "int"), Column("errors", N_("Errors"), "int"),
    Column("airtime_s", N_("Airtime (h)"), "hours"),
    Column("airtime_share", N_("Share of all airtime (%)"), "share"),
)

PROVINCE_COLUMNS = (
    Column("gates", N_("Gates"), "int"), Column("faces", N_("Faces"), "int"),
    Column("plays", N_("Plays"), "int"), Column("errors", N_("Errors"), "int"),
    Column("airtime_s", N_("Airtime (h)"), "hours"),
    Column("scheduled_s", N_("Scheduled airtime (h)"), "hours"),
    Column("shown_share", N_("Share of scheduled airtime shown (%)"), "share"),
    *DARK_COLUMNS, Column("offline_s", N_("Offline, all gates added (h)"), "hours"),
)


def plays_table(rows: list[dict]) -> Table:
    return Table("luot-phat", N_("Plays and airtime"), PLAYS_COLUMNS, rows)


def uptime_table(rows: list[dict]) -> Table:
    return Table("hoat-dong", N_("Uptime per face"), UPTIME_COLUMNS, rows)


def monthly_tables(report: dict) -> list[Table]:
    """The monthly report's tables, in the order the page, PDF and XLSX show them."""
    return [
        Table("tong-hop-tinh", N_("Whole province"), PROVINCE_COLUMNS, [report["province"]]),
        Table("theo-cong", N_("Per gate"), GATE_SUMMARY_COLUMNS, report["gates"]),
        Table("theo-mat", N_("Per face"), UPTIME_COLUMNS, report["faces"]),
        Table("theo-ngay", N_("Per day"), DAY_COLUMNS, report["days"]),
        Table("noi-dung", N_("Most shown media"), MEDIA_COLUMNS, report["top_media"]),
        Table("theo-ngon-ngu", N_("Per language"), LANGUAGE_COLUMNS, report["languages"]),
    ]


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([say(c.label) for c in table.columns])
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
        ws = wb.create_sheet(say(table.title)[:31])
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([say(table.title)])
        ws.append([say(c.label) for c in table.columns])
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
            chart.title = say(N_("Airtime per day (h)"))
            col = keys.index("airtime_s") + 1
            chart.add_data(Reference(ws, min_col=col, min_row=3, max_row=3 + len(table.rows)),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=4, max_row=3 + len(table.rows)))
            chart.width, chart.height = 24, 9
            ws.add_chart(chart, f"{get_column_letter(len(keys) + 2)}4")
        elif table.name == "theo-cong":
            chart = BarChart()
            chart.type = "bar"
            chart.title = say(N_("Share of scheduled airtime shown (%)"))
            col = keys.index("shown_share") + 1
            chart.add_data(Reference(ws, min_col=col, min_row=3, max_row=3 + len(table.rows)),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=2, min_row=4, max_row=3 + len(table.rows)))
            chart.width, chart.height = 18, max(6, 0.6 * len(table.rows))
            ws.add_chart(chart, f"{get_column_letter(len(keys) + 2)}4")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
