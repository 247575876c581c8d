"""`/api/v1/reports/...`: the reports as JSON for people's tools, authenticated
like the management API (HTTP Basic: user name and API token; any role)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from central import reports
from central.checks import CentralError, NotFound, refusal
from central.manage import db, person

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")


@bp.errorhandler(CentralError)
def report_error(e):
    return jsonify(refusal(e)), 404 if isinstance(e, NotFound) else 400


def _period() -> reports.Period:
    return reports.period(request.args.get("from"), request.args.get("to"))


@bp.get("/plays")
def plays():
    """?from=YYYY-MM-DD&to=YYYY-MM-DD[&gate=ID][&by=total|day|month]"""
    person("view")
    p, gate, by = _period(), request.args.get("gate") or None, request.args.get("by", "total")
    return jsonify({"period": p.as_dict(), "gate": gate, "by": by,
                    "rows": reports.plays(db(), p, gate, by=by)})


@bp.get("/uptime")
def uptime():
    """?from=YYYY-MM-DD&to=YYYY-MM-DD[&gate=ID]"""
    person("view")
    p, gate = _period(), request.args.get("gate") or None
    return jsonify({"period": p.as_dict(), "gate": gate, "rows": reports.uptime(db(), p, gate)})


@bp.get("/monthly")
def monthly():
    """?month=YYYY-MM: the province's monthly report."""
    person("view")
    return jsonify(reports.monthly(db(), reports.month_period(request.args.get("month", ""))))
