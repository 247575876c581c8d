"""The monthly report as a PDF (fpdf2), in Vietnamese, drawn with the Noto Sans
the gates' text already uses (kiosk.text.fonts): a summary with two charts
(airtime per day, share of scheduled airtime shown per gate), then every table
of central.report_tables. Charts are drawn as rectangles, not pictures, so they
stay sharp when printed."""

from __future__ import annotations

from kiosk.text.fonts import KNOWN_PATHS
from kiosk.web.i18n import N_

from central.i18n import say
from central.report_tables import Table, cell, monthly_tables
from central.reports import monthly_title

INK = (30, 30, 30)
BAR = (31, 94, 160)
MUTED = (110, 110, 110)
RULE = (200, 200, 200)


def _pdf():
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(14, 14, 14)
    pdf.add_font("Noto", "", KNOWN_PATHS[("noto sans", False)])
    pdf.add_font("Noto", "B", KNOWN_PATHS[("noto sans", True)])
    pdf.set_text_color(*INK)
    return pdf


def _footer(pdf, title: str) -> None:
    def footer():
        pdf.set_y(-10)
        pdf.set_font("Noto", "", 7)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 5, say(N_("%(title)s · page %(page)s/%(pages)s"), title=title,
                              page=pdf.page_no(), pages="{nb}"), align="C")
        pdf.set_text_color(*INK)

    pdf.footer = footer


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f}".replace(",", " ").replace(".", ",")


def _share(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}".replace(".", ",") + " %"


def _figures(pdf, province: dict) -> None:
    figures = [
        (N_("Gates / faces"), f"{province['gates']} / {province['faces']}"),
        (N_("Plays"), f"{province['plays']:,}".replace(",", " ")),
        (N_("Airtime"), say(N_("%(hours)s h"), hours=_hours(province["airtime_s"]))),
        (N_("Share of scheduled airtime shown"), _share(province["shown_share"])),
        (N_("Dark by outage"), say(N_("%(hours)s h"), hours=_hours(province["dark_outage_s"]))),
        (N_("Dark by error"), say(N_("%(hours)s h"), hours=_hours(province["dark_error_s"]))),
    ]
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / len(figures)
    y = pdf.get_y()
    for i, (label, value) in enumerate(figures):
        x = pdf.l_margin + i * width
        pdf.set_draw_color(*RULE)
        pdf.rect(x + 1, y, width - 2, 18)
        pdf.set_xy(x + 3, y + 2)
        pdf.set_font("Noto", "", 7.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 6, 4, say(label))
        pdf.set_xy(x + 3, y + 8)
        pdf.set_font("Noto", "B", 12)
        pdf.set_text_color(*INK)
        pdf.cell(width - 6, 7, value)
    pdf.set_y(y + 22)


def _column_chart(pdf, title: str, labels: list[str], values: list[float], unit: str,
                  x: float, y: float, w: float, h: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Noto", "B", 9)
    pdf.cell(w, 5, title)
    top, bottom = y + 8, y + h - 6
    peak = max(values or [0]) or 1.0
    pdf.set_draw_color(*RULE)
    pdf.line(x, bottom, x + w, bottom)
    step = w / max(1, len(values))
    pdf.set_fill_color(*BAR)
    for i, v in enumerate(values):
        bar = (bottom - top) * v / peak
        if bar > 0:
            pdf.rect(x + i * step + step * 0.15, bottom - bar, step * 0.7, bar, style="F")
    pdf.set_font("Noto", "", 6)
    pdf.set_text_color(*MUTED)
    every = max(1, len(labels) // 16)
    for i, label in enumerate(labels):
        if i % every == 0:
            pdf.set_xy(x + i * step, bottom + 0.5)
            pdf.cell(step * every, 3, label)
    pdf.set_xy(x, top - 3)
    pdf.cell(w, 3, say(N_("highest %(value)s %(unit)s"),
                       value=f"{peak:,.1f}".replace(",", " ").replace(".", ","), unit=unit),
             align="R")
    pdf.set_text_color(*INK)


def _bar_chart(pdf, title: str, labels: list[str], shares: list[float | None],
               x: float, y: float, w: float, h: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Noto", "B", 9)
    pdf.cell(w, 5, title)
    rows = max(1, len(labels))
    row_h = min(6.0, (h - 8) / rows)
    label_w = w * 0.38
    pdf.set_font("Noto", "", max(5.0, min(7.5, row_h * 1.6)))
    for i, (label, share) in enumerate(zip(labels, shares)):
        ry = y + 8 + i * row_h
        pdf.set_xy(x, ry)
        pdf.cell(label_w - 2, row_h, label[:40], align="R")
        pdf.set_fill_color(235, 235, 235)
        pdf.rect(x + label_w, ry + row_h * 0.15, w - label_w - 16, row_h * 0.7, style="F")
        if share:
            pdf.set_fill_color(*BAR)
            pdf.rect(x + label_w, ry + row_h * 0.15, (w - label_w - 16) * share, row_h * 0.7,
                     style="F")
        pdf.set_xy(x + w - 15, ry)
        pdf.cell(15, row_h, _share(share), align="R")


def _table(pdf, table: Table) -> None:
    pdf.set_font("Noto", "B", 10)
    pdf.cell(0, 7, say(table.title), new_x="LMARGIN", new_y="NEXT")
    if not table.rows:
        pdf.set_font("Noto", "", 8)
        pdf.cell(0, 6, say(N_("No figures in this period.")), new_x="LMARGIN", new_y="NEXT")
        return
    # The content hash is for machines (CSV/XLSX); the page has the name.
    columns = [c for c in table.columns if c.key != "media_sha256"]
    weights = [2.6 if c.key in ("gate_name", "media_name", "playlist_name") else
               1.6 if c.key == "gate_id" else 1.0 for c in columns]
    size = 7 if len(columns) <= 10 else 6
    pdf.set_font("Noto", "", size)
    pdf.set_fill_color(255, 255, 255)  # the charts' bar colour must not fill the rows
    from fpdf.fonts import FontFace

    with pdf.table(col_widths=weights, text_align="LEFT", line_height=size * 0.55,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(238, 242, 247)),
                   first_row_as_headings=True, repeat_headings=1,
                   cell_fill_color=(247, 247, 247), cell_fill_mode="ROWS",
                   borders_layout="HORIZONTAL_LINES") as grid:
        head = grid.row()
        for c in columns:
            head.cell(say(c.label))
        for row in table.rows:
            r = grid.row()
            for c in columns:
                value = cell(c, row)
                if isinstance(value, float):
                    value = f"{value:,.2f}".replace(",", " ").replace(".", ",")
                elif isinstance(value, int):
                    value = f"{value:,}".replace(",", " ")
                r.cell(str(value))
    pdf.ln(4)


def monthly_pdf(report: dict) -> bytes:
    title = monthly_title(report)
    pdf = _pdf()
    _footer(pdf, title)
    pdf.add_page()
    pdf.set_font("Noto", "", 8)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5, say(N_("To: the Provincial People's Committee")), new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_font("Noto", "B", 14)
    pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Noto", "", 8.5)
    pdf.multi_cell(
        0, 4.5,
        say(N_("Figures from each gate's proof of play and heartbeats, under Circular "
               "06/2022/TT-BTTTT (Art. 4, clause 5). Scheduled airtime is the time a face "
               "should have shown content: hours off by the power schedule or the kill switch "
               "are not counted.")), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _figures(pdf, report["province"])
    y = pdf.get_y()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    days = report["days"]
    _column_chart(pdf, say(N_("Hours on screen per day, whole province")),
                  [d["day"][8:10] for d in days], [d["airtime_s"] / 3600 for d in days],
                  say(N_("h")),
                  pdf.l_margin, y, width * 0.55, 70)
    gates = sorted(report["gates"], key=lambda g: (g["shown_share"] is None,
                                                   g["shown_share"] or 0))[:25]
    _bar_chart(pdf, say(N_("Share of scheduled airtime shown, per gate (lowest first)")),
               [g["gate_name"] or g["gate_id"] for g in gates],
               [g["shown_share"] for g in gates],
               pdf.l_margin + width * 0.6, y, width * 0.4, pdf.h - pdf.b_margin - y - 4)
    pdf.add_page()
    for table in monthly_tables(report)[1:]:
        _table(pdf, table)
    return bytes(pdf.output())
