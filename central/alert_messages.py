"""What an alert message says, in the province's language (Vietnamese unless told):
subject, text and the JSON a webhook receives. Strings are English msgids said
through central's catalogues (central.i18n), so the console and the messages say the
same thing; times, numbers and durations are written as the console writes them
(kiosk.web.formatting), times in the province's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.store import parse_iso
from kiosk.web import formatting
from kiosk.web.i18n import N_

from central.i18n import LANGUAGE, gettext, say

KIND_TITLES = {
    "offline": N_("Gate offline"),
    "face_dark": N_("Face dark"),
    "temperature": N_("Controller temperature high"),
    "under_voltage": N_("Power supply under-voltage"),
    "disk_low": N_("Disk space low"),
    "clock_unsynced": N_("Clock not synchronised"),
    "sync_failing": N_("Sync with central failing"),
    "held_last_good": N_("Gate held on its last-known-good release"),
    "release_not_taken": N_("Release not taken up"),
}
SEVERITY_NAMES = {"critical": N_("Critical"), "warning": N_("Warning")}
EVENT_NAMES = {"opened": N_("Alert"), "resolved": N_("Resolved")}


def local_time(value: str | datetime | None, zone: str) -> str:
    """An instant as people in the province read it: HH:mm dd/MM/yyyy, their zone."""
    return formatting.when(value, zone, missing="?")


def number(value, lang: str = LANGUAGE) -> str:
    """84,2 in Vietnamese, 84.2 in English; 500.0 is 500."""
    return formatting.number(value, lang, missing="?")


def describe(alert: dict, zone: str, lang: str = LANGUAGE) -> str:
    """The alert's detail in a sentence."""
    d, face = alert.get("detail") or {}, alert.get("face_id")
    kind = alert["kind"]
    if kind == "offline":
        return say("No heartbeat since %(time)s.", lang,
                         time=local_time(d.get("last_heartbeat_at"), zone))
    if kind == "face_dark" and d.get("cause") == "frozen":
        return say("Face %(face)s should show content, but its picture has not changed "
                         "since %(time)s although %(media)s different media started on it.",
                         lang, face=face, time=local_time(d.get("since"), zone),
                         media=d.get("media"))
    if kind == "face_dark":
        return say("Face %(face)s should show content, but its screenshot of %(time)s "
                         "is black.", lang, face=face, time=local_time(d.get("taken_at"), zone))
    if kind == "temperature":
        return say("CPU at %(temp)s °C (alert above %(limit)s °C).", lang,
                         temp=number(d.get("temp_c"), lang), limit=number(d.get("limit_c"), lang))
    if kind == "under_voltage":
        return say("The controller reports under-voltage: check its power supply.", lang)
    if kind == "disk_low":
        return say("%(free)s MB free in the gate's state folder (alert below %(limit)s MB).",
                         lang, free=number(d.get("free_mb"), lang),
                         limit=number(d.get("limit_mb"), lang))
    if kind == "clock_unsynced":
        if d.get("skew_s") is not None:
            return say("The controller's clock is not synchronised (%(skew)s s from "
                             "central's).", lang, skew=number(d.get("skew_s"), lang))
        return say("The controller's clock is not synchronised.", lang)
    if kind == "sync_failing":
        return say("Sync has failed since %(time)s: %(reason)s", lang,
                         time=local_time(d.get("failing_since"), zone), reason=d.get("reason") or "?")
    if kind == "held_last_good":
        return say("The gate was offered release %(offered)s but keeps playing release "
                         "%(playing)s.", lang, offered=d.get("offered_version"),
                         playing=d.get("playing_version"))
    if kind == "release_not_taken":
        return say("Release %(version)s was published at %(time)s; the gate still plays "
                         "%(playing)s.", lang, version=d.get("version"),
                         time=local_time(d.get("published_at"), zone),
                         playing=d.get("playing_version") or "-")
    return kind


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    payload: dict


def compose(alert: dict, gate_name: str, event: str, delivery_id: int, zone: str,
            console_url: str = "", lang: str = LANGUAGE) -> Message:
    """The message for one delivery: `event` is opened or resolved."""
    title = say(KIND_TITLES.get(alert["kind"], alert["kind"]), lang)
    if event == "resolved":
        subject = say("[gatecast] Resolved: %(title)s — %(gate)s", lang,
                            title=title, gate=gate_name)
    else:
        subject = say("[gatecast] %(severity)s: %(title)s — %(gate)s", lang,
                            severity=say(SEVERITY_NAMES[alert["severity"]], lang),
                            title=title, gate=gate_name)
    lines = [say("Gate: %(name)s (%(id)s)", lang, name=gate_name, id=alert["gate_id"])]
    if alert.get("face_id"):
        lines.append(say("Face: %(face)s", lang, face=alert["face_id"]))
    lines.append(say("Since: %(time)s", lang, time=local_time(alert["opened_at"], zone)))
    lines.append(describe(alert, zone, lang))
    if event == "resolved":
        opened, resolved = parse_iso(alert["opened_at"]), parse_iso(alert["resolved_at"])
        lines.append(say("Back to normal at %(time)s, after %(duration)s.", lang,
                               time=local_time(resolved, zone),
                               duration=formatting.duration((resolved - opened).total_seconds(),
                                                            gettext(lang))))
    if alert.get("acknowledged_by"):
        lines.append(say("Acknowledged by %(who)s at %(time)s.", lang,
                               who=alert["acknowledged_by"],
                               time=local_time(alert["acknowledged_at"], zone)))
    if console_url:
        lines.append(f"{console_url.rstrip('/')}/alerts")
    text = "\n".join(lines)
    payload = {
        # Chat bridges (Mattermost, Slack-style, Google Chat) post "text" as it is.
        "text": f"{subject}\n{text}",
        "event": event, "delivery_id": delivery_id,
        "alert": {k: alert.get(k) for k in (
            "id", "gate_id", "kind", "face_id", "severity", "state", "opened_at",
            "resolved_at", "detail", "acknowledged_by", "acknowledged_at")},
        "gate_name": gate_name, "subject": subject,
    }
    return Message(subject, text, payload)
