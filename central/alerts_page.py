"""The console's Alerts page: open alerts (and, on request, resolved ones) with who
acknowledged them and when, the acknowledge action (operators and admins), and who is
told of what (the subscriptions). The back end is central/alerts.py."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from central.console import nav
from central.console.base import done, require, store, who
from central.console.i18n import select_timezone

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
nav.add("alerts.index", _l("Alerts"), right="view", order=80)


@bp.get("/")
@require("view")
def index():
    from central.alert_messages import KIND_TITLES, describe
    from central.i18n import say
    from central.alerts import list_alerts, list_subscriptions, subscription_groups

    show_all = request.args.get("all") == "1"
    lang = str(get_locale())
    zone = select_timezone()
    alerts = list_alerts(store(), include_resolved=show_all)
    for a in alerts:
        a["title"] = say(KIND_TITLES.get(a["kind"], a["kind"]), lang)
        a["text"] = describe(a, zone, lang)
    return render_template("alerts.html", alerts=alerts, show_all=show_all,
                           subscriptions=list_subscriptions(store()),
                           groups=subscription_groups(store()))


@bp.post("/<int:alert_id>/ack")
@require("fleet")
def acknowledge(alert_id):
    from central.alerts import acknowledge

    acknowledge(store(), alert_id, who())
    return done(_("Alert %(id)s acknowledged.", id=alert_id), url_for("alerts.index"))


@bp.post("/subscriptions")
@require("fleet")
def subscribe():
    from central.alerts import add_subscription

    f = request.form
    add_subscription(store(), f.get("channel", ""), f.get("address", ""),
                     f.get("group") or None, f.get("severity", ""), by=who())
    return done(_("Subscription added."), url_for("alerts.index"))


@bp.post("/subscriptions/<int:sub_id>/remove")
@require("fleet")
def unsubscribe(sub_id):
    from central.alerts import remove_subscription

    remove_subscription(store(), sub_id, by=who())
    return done(_("Subscription removed."), url_for("alerts.index"))
