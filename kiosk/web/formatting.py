"""How the gate admin and the central console write times, sizes and
durations: one format everywhere.

Times are shown in a zone (the gate's; at central, the viewer's) as
"HH:mm dd/MM/yyyy" (with seconds in the logs), the order a Vietnamese reader
expects and the same in English; the shared script (static/app.js,
formatTime) writes exactly the same text after a refresh. Sizes and
durations pick a unit that gives a readable number ("350 KB", not "0.0 MB";
"5 giờ", not "0.2 days").
"""

from __future__ import annotations

import calendar
import functools
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

from kiosk.web.i18n import N_, Refusal

TIME = "HH:mm dd/MM/yyyy"
TIME_SECONDS = "HH:mm:ss dd/MM/yyyy"
DATE = "dd/MM/yyyy"


@functools.lru_cache(maxsize=4096)
def local_time(text: str, tz: str, seconds: bool = False) -> str:
    """ISO text (UTC or with an offset; naive means the gate's zone) -> local text."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return format_datetime(value, TIME_SECONDS if seconds else TIME, tzinfo=ZoneInfo(tz), locale="en")


def when(value, tz: str, seconds: bool = False, missing: str = "—") -> str:
    """local_time for what a row holds: ISO text, a datetime, or nothing (`missing`)."""
    if not value:
        return missing
    if not isinstance(value, str):
        value = value.isoformat()
    return local_time(value, tz, seconds)


def local_date(text: str) -> str:
    """An ISO date (YYYY-MM-DD) -> dd/MM/yyyy."""
    try:
        y, m, d = str(text).split("-")
        return f"{d}/{m}/{y}"
    except ValueError:
        return str(text)


def size(n_bytes, locale: str) -> str:
    """Bytes -> "812 B", "350 KB", "4,2 MB" (vi) / "4.2 MB" (en), "1,5 GB"."""
    if n_bytes is None:
        return "—"
    n = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            break
        n /= 1024
    pattern = "#,##0" if unit == "B" or n >= 100 else "#,##0.#"
    return f"{format_decimal(n, pattern, locale=locale)} {unit}"


def number(value, locale: str, missing: str = "—") -> str:
    """84,2 (vi) / 84.2 (en); 500.0 is 500."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return missing
    return format_decimal(value, format="#,##0.#", locale=locale)


def megabytes(mb, locale: str) -> str:
    return size(None if mb is None else float(mb) * 1024 * 1024, locale)


def duration(seconds, gettext) -> str:
    """Seconds -> "45 s", "12 min", "5 h 20 min", "3 days 4 h" in the reader's language."""
    if seconds is None:
        return "—"
    s = int(round(float(seconds)))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = gettext("%(n)d days", n=days)
        return text + (" " + gettext("%(n)d h", n=hours) if hours else "")
    if hours:
        return gettext("%(n)d h", n=hours) + (" " + gettext("%(n)d min", n=minutes) if minutes else "")
    if minutes:
        return gettext("%(n)d min", n=minutes)
    return gettext("%(n)d s", n=secs)


def timedelta_text(delta: timedelta, gettext) -> str:
    return duration(delta.total_seconds(), gettext)


# --- Dates typed into a form -------------------------------------------------
# A form asks for a date as dd/mm/yyyy (the order a Vietnamese reader writes,
# and the one these pages show) in a plain text field: the browser's own
# <input type=date> follows the browser's locale ("mm/dd/yyyy" in an English
# Chrome), not the page's. The server reads dd/mm/yyyy and ISO yyyy-mm-dd (old
# bookmarks, scripts, the JSON APIs) and answers a bad or impossible date in
# words. A date and time is "HH:mm dd/mm/yyyy", the order `local_time` shows;
# the other order and ISO are read too. Services keep storing ISO text.

_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_CLOCK = re.compile(r"(\d{1,2})[:hg.](\d{2})")


class BadDate(Refusal):
    """A date (or date and time) a person typed that is not one."""


def _day(text: str, typed: str) -> date | None:
    """dd/mm/yyyy or yyyy-mm-dd -> a date; None if the text has neither shape;
    BadDate if it has the shape but no such day exists (31/02/2026)."""
    m = _DAY_FIRST.fullmatch(text)
    if m:
        d, mo, y = (int(x) for x in m.groups())
    else:
        m = _ISO_DAY.fullmatch(text)
        if not m:
            return None
        y, mo, d = (int(x) for x in m.groups())
    if not 1 <= mo <= 12 or y < 1:
        raise BadDate(N_("%(v)s is not a date: there is no month %(m)d."), v=typed, m=mo)
    last = calendar.monthrange(y, mo)[1]
    if not 1 <= d <= last:
        raise BadDate(N_("There is no %(v)s: month %(m)d of %(y)d has %(n)d days."),
                      v=typed, m=mo, y=y, n=last)
    return date(y, mo, d)


def read_date(text) -> date | None:
    """A date typed in a form: "25/12/2026" (also 25-12-2026, 25.12.2026,
    5/1/2026) or ISO "2026-12-25"; empty is None. BadDate otherwise."""
    typed = str(text or "").strip()
    if not typed:
        return None
    found = _day(typed, typed[:40])
    if found is None:
        raise BadDate(N_("%(v)s is not a date: write it as dd/mm/yyyy, for example 25/12/2026."),
                      v=typed[:40])
    return found


def read_iso_date(text) -> str | None:
    """read_date as the ISO text the services store (or None when empty)."""
    found = read_date(text)
    return found.isoformat() if found else None


def read_datetime(text) -> datetime | None:
    """A date and time typed in a form (naive: the viewer's or gate's zone):
    "18:30 25/12/2026", "25/12/2026 18:30" or ISO "2026-12-25T18:30"; empty is
    None. BadDate otherwise."""
    typed = str(text or "").strip()
    if not typed:
        return None
    short = typed[:40]
    parts = typed.replace("T", " ").split()
    if len(parts) == 2:
        clock, day_text = (parts if _CLOCK.fullmatch(parts[0]) else parts[::-1])
        m = _CLOCK.fullmatch(clock)
        day = _day(day_text, day_text[:40])  # "there is no 31/04/2026", the day alone
        if m and day is not None:
            hour, minute = int(m.group(1)), int(m.group(2))
            if hour > 23 or minute > 59:
                raise BadDate(N_("%(v)s: there is no time %(t)s on a clock."), v=short, t=clock)
            return datetime(day.year, day.month, day.day, hour, minute)
    try:  # ISO with seconds or an offset: what the API and old links send
        return datetime.fromisoformat(typed)
    except ValueError:
        pass
    raise BadDate(N_("%(v)s is not a date and time: write it as hh:mm dd/mm/yyyy, for "
                     "example 18:30 25/12/2026."), v=short)


_MONTH_FIRST = re.compile(r"(\d{1,2})[/.-](\d{4})")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def read_month(text) -> str | None:
    """A month typed in a form: "11/2026" (also 11-2026, 1/2026) or ISO
    "2026-11" -> "2026-11"; empty is None. BadDate otherwise."""
    typed = str(text or "").strip()
    if not typed:
        return None
    m = _MONTH_FIRST.fullmatch(typed)
    if m:
        mo, y = int(m.group(1)), int(m.group(2))
    else:
        m = _ISO_MONTH.fullmatch(typed)
        if not m:
            raise BadDate(N_("%(v)s is not a month: write it as mm/yyyy, for example 11/2026."),
                          v=typed[:40])
        y, mo = int(m.group(1)), int(m.group(2))
    if not 1 <= mo <= 12 or y < 1:
        raise BadDate(N_("%(v)s is not a date: there is no month %(m)d."), v=typed[:40], m=mo)
    return f"{y:04d}-{mo:02d}"


def form_month(value) -> str:
    """What a month field shows: "2026-11" as 11/2026; other text as it is."""
    m = _ISO_MONTH.fullmatch(str(value or "").strip())
    return f"{int(m.group(2)):02d}/{m.group(1)}" if m else str(value or "")


def form_date(value) -> str:
    """What a date field shows: a stored date (ISO text or a date) as
    dd/mm/yyyy; anything else (a refused entry being typed again) as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    m = _ISO_DAY.fullmatch(str(value).strip())
    return f"{int(m.group(3)):02d}/{int(m.group(2)):02d}/{m.group(1)}" if m else str(value)


def form_datetime(value, tz: str | None = None) -> str:
    """What a date-and-time field shows: "HH:mm dd/mm/yyyy" (an aware value in
    `tz`); text that is not ISO (being typed again) as it is."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return str(value)
    if value.tzinfo is not None and tz:
        value = value.astimezone(ZoneInfo(tz))
    return value.strftime("%H:%M %d/%m/%Y")
