"""Refusals of the assignment, publishing and emergency back end in the
reader's language. The library raises them with a code and parameters (and
an English message for the CLI and the API); pages say them here, never by
parsing the English text."""

from __future__ import annotations

from flask_babel import gettext as _

from central.checks import CentralError, in_words
from central.i18n import language_name


def weekday(d: int) -> str:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
            _("Saturday"), _("Sunday")][d]


def level(name: str) -> str:
    return {"emergency": _("emergency"), "priority": _("priority"), "normal": _("normal"),
            "fallback": _("fallback"), "none": _("nothing scheduled")}.get(name, name)


def words(what: str, value) -> str:
    """central.publish.face_parts' words (levels, notice kinds, weekdays)."""
    if what == "level":
        return level(value)
    if what == "kind":
        return _("Ticker") if value == "ticker" else _("Slide notice")
    if what == "days":
        days = list(value)
        if len(days) == 7:
            return _("every day")
        return ", ".join(weekday(d) for d in days)
    return str(value)


# A content language in words (central.i18n, so that central.assign can say it too).
language = language_name


def say(e: CentralError) -> str:
    from central.assign import PowerOverlap
    from central.publication import StaleError

    if isinstance(e, PowerOverlap):
        where = (_("every face") if e.face is None else _("face %(n)s", n=e.face))
        return _("This power window overlaps %(start)s–%(end)s already set on %(where)s "
                 "(%(day)s %(from_)s–%(to)s). Change or remove that one first.",
                 start=e.other["start_time"], end=e.other["end_time"], where=where,
                 day=weekday(e.weekday), from_=e.start, to=e.end)
    if isinstance(e, StaleError) and e.params["request"] is None:
        return _("Someone changed or published %(gates)s since this page was shown; nothing "
                 "was published. Look at the preview again.", gates=", ".join(e.gates))
    return in_words(e)
