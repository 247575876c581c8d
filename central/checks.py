"""Checks shared by the central modules, and the error they raise: input
from the CLI, the management desk and gates is refused with a message for
the operator, before anything is stored."""

from __future__ import annotations

import re

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class CentralError(ValueError):
    """Bad input or a refused action; the message is for the operator."""


class NotFound(CentralError):
    pass


class Forbidden(CentralError):
    pass


def check_id(value: str, what: str) -> str:
    """Ids end up in URLs and target paths: lower-case letters, digits, - and _."""
    if not isinstance(value, str) or not ID_RE.match(value):
        raise CentralError(
            f"{what} id must be 1-63 lower-case letters, digits, '-' or '_' "
            f"(starting with a letter or digit), got {value!r}")
    return value


def int_list(value, lo: int, hi: int, what: str, allow_empty: bool = True) -> list[int]:
    """Sorted distinct integers lo..hi from a list or a '1,2' string."""
    if value is None:
        value = []
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    try:
        ids = sorted({int(v) for v in value})
    except (TypeError, ValueError):
        ids = None
    if ids is None or any(not lo <= v <= hi for v in ids) or (not ids and not allow_empty):
        raise CentralError(f"{what} are numbers {lo} to {hi}, got {value!r}")
    return ids


def check_name(value, what: str, limit: int = 200) -> str:
    """Human names (gates, playlists, entries) go into releases and pages:
    a string without control characters, at most `limit` characters."""
    import unicodedata

    if value is None:
        return ""
    if not isinstance(value, str):
        raise CentralError(f"{what} must be text")
    value = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise CentralError(f"{what} must not contain control characters")
    if len(value) > limit:
        raise CentralError(f"{what} is limited to {limit} characters")
    return value
