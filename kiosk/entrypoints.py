"""The composition root: what each seam of the core is made of, read from the
entry points the installed gatecast declares (pyproject.toml,
`[project.entry-points."gatecast.*"]`), the way sqlite-utils and Datasette find
their plugins. The core never names the areas built on it (admin, central);
they name themselves there.

Groups (see pyproject.toml for the current members):

- `gatecast.migrations`: sqlite-utils `Migrations` sets of the gate database.
- `gatecast.commands`: click commands and groups under `gatecast`.
- `gatecast.player_plugins`: `PlayerPlugin` subclasses the player creates.
- `gatecast.resolvers`: media kind -> `resolve(item, ctx) -> Playable`.
- `gatecast.demo_services`: `services(ctx) -> list[Service]` for `gatecast demo`.
- `gatecast.words`: `words(settings) -> say` for what a gate command shows in the
  admin's words (`sync`: the sync state as the dashboard says it).

Where order matters (migrations are applied, demo services started, plugins
called) it is the order of the entry point names, so the names carry it
("10-core" before "20-admin"). Entry points are read from the installed
metadata: after changing them, reinstall (`pip install -e .`).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

GROUPS = ("gatecast.migrations", "gatecast.commands", "gatecast.player_plugins",
          "gatecast.resolvers", "gatecast.demo_services", "gatecast.words")


class EntryPointsMissing(RuntimeError):
    """gatecast is not installed (or installed from an older pyproject.toml)."""


@cache
def declared(group: str) -> dict[str, EntryPoint]:
    """The entry points of one group, by name, in name order (not loaded)."""
    found = {ep.name: ep for ep in entry_points(group=group)}
    if not found:
        raise EntryPointsMissing(
            f"no {group!r} entry points: gatecast is not installed in this Python, or its "
            "metadata predates them; run `pip install -e .` (scripts/setup.sh does it)")
    return dict(sorted(found.items()))


def loaded(group: str) -> dict[str, object]:
    """Every member of a group, imported, in name order."""
    return {name: ep.load() for name, ep in declared(group).items()}


def migration_sets() -> list:
    """The gate database's migration sets, in the order they are applied."""
    return list(loaded("gatecast.migrations").values())


def player_plugin_classes() -> list:
    return list(loaded("gatecast.player_plugins").values())


def resolver(kind: str):
    """The resolver for a media kind, or None when no area handles it."""
    ep = declared("gatecast.resolvers").get(kind)
    return None if ep is None else ep.load()


def demo_service_factories() -> list:
    return list(loaded("gatecast.demo_services").values())


def words(name: str):
    """`words(settings)` of the area that says `name` (gatecast.words), or None."""
    ep = declared("gatecast.words").get(name)
    return None if ep is None else ep.load()
