"""The console's Reports page: the province's monthly report (central.reports.monthly)
with its charts and tables, and the same report as PDF, XLSX and a CSV per table.

The charts are inline SVG drawn from the numbers here (no script, no style
attribute: the console's CSP allows neither)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from central import reports
from central.checks import NotFound
from central.reports import ReportError
from central.console import nav
from central.console.base import require, store
from central.report_tables import monthly_tables, shown, to_csv, to_xlsx

bp = Blueprint("reports", __name__, url_prefix="/reports")
nav.add("reports.index", _l("Reports"), right="view", order=70)

CHART_W, CHART_H = 620, 180


def _month_arg() -> str:
    """The month asked for: mm/yyyy from the form (web/macros.html month_input)
    or ISO from a link; this month when none."""
    from kiosk.web.formatting import BadDate, read_month

    try:
        return read_month(request.args.get("month")) or date.today().strftime("%Y-%m")
    except BadDate as e:
        raise ReportError(e.say(_)) from None


def _day_chart(days: list[dict]) -> dict:
    """Bars of airtime per day, in SVG user units (the SVG scales to its box)."""
    peak = max((d["airtime_s"] for d in days), default=0) or 1.0
    step = CHART_W / max(1, len(days))
    bars = []
    for i, d in enumerate(days):
        h = (CHART_H - 40) * d["airtime_s"] / peak  # 20 units on top for the scale
        bars.append({"x": round(i * step + step * 0.15, 1), "y": round(CHART_H - 18 - h, 1),
                     "w": round(step * 0.7, 1), "h": round(h, 1), "label": d["day"][8:10],
                     "hours": round(d["airtime_s"] / 3600, 1), "tx": round(i * step + step / 2, 1)})
    return {"w": CHART_W, "h": CHART_H, "bars": bars, "peak_hours": round(peak / 3600, 1),
            "every": max(1, len(days) // 8)}


def _gate_chart(gates: list[dict]) -> list[dict]:
    rows = sorted(gates, key=lambda g: (g["shown_share"] is None, g["shown_share"] or 0))
    return [{"name": g["gate_name"] or g["gate_id"], "share": g["shown_share"],
             "w": round(270 * (g["shown_share"] or 0), 1)} for g in rows]


@bp.get("/")
@require("view")
def index():
    typed, error, status = request.args.get("month", ""), None, 200
    try:
        month = _month_arg()
    except ReportError as e:  # said above the form, which keeps what was typed
        month, error, status = date.today().strftime("%Y-%m"), str(e), 400
    report = reports.monthly(store(), reports.month_period(month))
    return render_template(
        # label(): a table's msgid in the reader's language (the template's own _()
        # would read the '%' in "… (%)" as a placeholder).
        "reports.html", report=report, month=month, tables=monthly_tables(report),
        cell=lambda column, row: shown(column, row, str(get_locale())),
        label=_,
        title=reports.monthly_title(report), day_chart=_day_chart(report["days"]),
        gate_chart=_gate_chart(report["gates"]), month_error=error,
        month_typed=typed if error else month), status


def _download(data: bytes, name: str, mimetype: str) -> Response:
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/<month>.pdf")
@require("view")
def pdf(month):
    from central.report_pdf import monthly_pdf

    report = reports.monthly(store(), reports.month_period(month))
    return _download(monthly_pdf(report), f"bao-cao-{month}.pdf", "application/pdf")


@bp.get("/<month>.xlsx")
@require("view")
def xlsx(month):
    report = reports.monthly(store(), reports.month_period(month))
    data = to_xlsx(monthly_tables(report), reports.monthly_title(report), charts=True)
    return _download(data, f"bao-cao-{month}.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/<month>/<table>.csv")
@require("view")
def csv(month, table):
    report = reports.monthly(store(), reports.month_period(month))
    for t in monthly_tables(report):
        if t.name == table:
            return _download(to_csv(t), f"{t.name}-{month}.csv", "text/csv; charset=utf-8")
    raise NotFound(_("There is no table %(table)s in the report.", table=table))
