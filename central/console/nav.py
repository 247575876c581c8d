"""The console's navigation: each page module adds its entry when imported.

    nav.add("library.index", _l("Library"), right="view", order=20)

`label` is a lazy string (flask_babel.lazy_gettext) so that it is said in
each reader's language; `right` (central/users.py RIGHTS) hides the entry
from users without it; `order` places it (home 10, library 20, assignments
30, publish 40, emergency 50, fleet 60, reports 70, alerts 80, users 90,
audit log 95).
The phone-width test (tests/central/test_console_pages.py) visits every entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    endpoint: str
    label: Any
    right: str
    order: int


ENTRIES: dict[str, Entry] = {}


def add(endpoint: str, label, right: str = "view", order: int = 100) -> None:
    ENTRIES[endpoint] = Entry(endpoint, label, right, order)


def visible(user, endpoints) -> list[Entry]:
    """The entries `user` may follow whose pages this app serves, in order."""
    return sorted((e for e in ENTRIES.values()
                   if e.endpoint in endpoints and user.can(e.right)),
                  key=lambda e: (e.order, e.endpoint))
