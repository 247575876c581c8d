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

import functools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

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
