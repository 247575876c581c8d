"""The admin's service layer: pages and the JSON API call these functions and
nothing else touches the database for a change. Each function validates its
input completely before writing, writes in one transaction, and records the
change in the audit log.

Errors are `AdminError`s whose message is already in the user's language
(flask_babel.gettext falls back to English outside a request).
"""

from __future__ import annotations

from dataclasses import dataclass


class AdminError(ValueError):
    """Bad input or a refused change. status: the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, field: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.status = status
        self.field = field


class NotFound(AdminError):
    def __init__(self, message: str):
        super().__init__(message, 404)


class Conflict(AdminError):
    def __init__(self, message: str):
        super().__init__(message, 409)


@dataclass(frozen=True)
class Actor:
    """Who is acting: written to the audit log and to rows' created_by."""

    username: str
    role: str
    client: str = ""


ROLES = ("viewer", "operator", "admin")
ROLE_RANK = {r: i for i, r in enumerate(ROLES)}


def role_at_least(role: str, needed: str) -> bool:
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def _typed(read, value, field: str):
    """`read` (a kiosk.web.formatting reader, shared with the console) on what a
    form or the API sent; its refusal said in the user's language beside `field`."""
    from flask_babel import gettext
    from kiosk.web.formatting import BadDate

    try:
        return read(value)
    except BadDate as e:
        raise AdminError(e.say(gettext), field=field) from None


def typed_date(value, field: str):
    """A date from a form or the API: dd/mm/yyyy or ISO -> a date, or None when empty."""
    from kiosk.web.formatting import read_date

    return _typed(read_date, value, field)


def typed_iso_date(value, field: str) -> str | None:
    """typed_date as the ISO text kiosk.schedule_entry checks and stores."""
    from kiosk.web.formatting import read_iso_date

    return _typed(read_iso_date, value, field)


def typed_datetime(value, field: str):
    """A date and time ("HH:mm dd/mm/yyyy", the other order, or ISO) -> a
    datetime (naive unless the text had an offset), or None when empty."""
    from kiosk.web.formatting import read_datetime

    return _typed(read_datetime, value, field)


def check_face(settings, value, field: str = "face") -> int:
    """A configured face id from user input, else a 400 naming the faces there are."""
    from flask_babel import gettext as _

    from kiosk.settings import faces

    known = [f["id"] for f in faces(settings)]
    try:
        fid = int(value)
    except (TypeError, ValueError):
        fid = None
    if fid not in known:
        raise AdminError(_("Unknown face %(face)s (this gate has faces %(faces)s).",
                           face=str(value)[:20], faces=", ".join(map(str, known))), field=field)
    return fid


