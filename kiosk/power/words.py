"""What the power area says to people, in the gate's language.

The words live in kiosk/power/translations (scripts/admin_catalogues.py
--area power), over the shared kiosk/web catalogue. The gate's command line
reads them with `words(settings)`; the admin puts this catalogue on its own
list (admin/i18n.py) and says health alarms through `alarm()` too, so an alarm
has one sentence for both.

`Sentence` and `PowerError` (a kiosk.web.i18n.Refusal) keep str() as the
English sentence (logs, JSON, tests that read text); `say(gettext)` says it in
the reader's language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from kiosk.web.i18n import N_, Refusal, gate_gettext, gate_language, say

CATALOGUE = Path(__file__).parent / "translations"


language = gate_language


def words(settings) -> Callable[..., str]:
    """gettext(msgid, **params) in the gate's language: this catalogue over the shared one."""
    return gate_gettext(settings, CATALOGUE)


class Sentence(str):
    """A message as English text (it is a str: JSON and logs carry it as it
    is) that can also be said in the reader's language."""

    def __new__(cls, msgid: str, **params):
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def say(self, gettext) -> str:
        return gettext(self.msgid, **self.params)


class PowerError(Refusal):
    """A power request that cannot be carried out (unknown face, bad time ...)."""


# Controller health alarms (kiosk.power.health.read_health): a sentence with
# the measured values, and a short name for "alarm over".
ALARMS: dict[str, str] = {
    "cpu_temp_high": N_("CPU at %(temp_c)s °C (alarm above %(limit_c)s °C)"),
    "under_voltage": N_("the power supply is under-voltage now"),
    "throttled": N_("the CPU is throttled now"),
    "disk_low": N_("only %(free)s free in the state folder"),
    "clock_unsynced": N_("the clock is not synchronised (schedules and signatures need it)"),
    "no_display": N_("the screens' display cannot be reached"),
}
ALARM_NAMES: dict[str, str] = {
    "cpu_temp_high": N_("CPU temperature"),
    "under_voltage": N_("under-voltage"),
    "throttled": N_("CPU throttling"),
    "disk_low": N_("free space"),
    "clock_unsynced": N_("clock synchronisation"),
    "no_display": N_("display"),
}


def alarm(alarm: dict, gettext, size: Callable[[float], str]) -> str:
    """One stored alarm (its code and values) as a sentence; `size(bytes)`
    says a size in the reader's locale. An unknown alarm, or one recorded
    before it carried its values, is its stored English message."""
    code = alarm.get("code") or alarm.get("alarm")
    template = ALARMS.get(code)
    if template is None:
        return alarm.get("message") or str(code)
    params = {}
    for key in ("temp_c", "limit_c"):
        if key in alarm:
            params[key] = f"{float(alarm[key]):.1f}".rstrip("0").rstrip(".")
    if "free_mb" in alarm:
        params["free"] = size(float(alarm["free_mb"]) * 1024 * 1024)
    try:
        return gettext(template) % params
    except (KeyError, ValueError, TypeError):
        return alarm.get("message") or str(code)


def alarm_name(code, gettext) -> str:
    return gettext(ALARM_NAMES[code]) if code in ALARM_NAMES else str(code)
