"""What every `gatecast` subcommand shares: --state/--config and opening the store.

Commands stay thin: resolve settings, open the database, call one library
function, turn library errors into click errors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import click

from kiosk.settings import Settings, SettingsError, load_settings, with_database
from kiosk.web.i18n import gate_gettext

# What every gate command says itself, in the gate's language (the `language`
# setting): kiosk/translations (scripts/admin_catalogues.py --area core).
CATALOGUE = Path(__file__).parent / "translations"


def words(settings):
    return gate_gettext(settings, CATALOGUE)


@dataclass
class Context:
    settings: Settings

    _db = None
    # Only `gatecast migrate` (and the demo, which opens its own) may create a
    # database: a mistyped --state must not silently run an empty gate.
    create_db: bool = False

    @property
    def db(self):
        """The migrated gate database, opened on first use."""
        if self._db is None:
            from kiosk.store import open_db

            path = self.settings.db_path
            if not self.create_db and not path.exists():
                _ = words(self.settings)
                raise click.ClickException(_(
                    "no gatecast database in %(state)s (a mistyped --state?). To set up a new "
                    "gate there: gatecast migrate --state %(state)s",
                    state=self.settings.state_path))
            self._db = open_db(self.settings.db_path)
            self.settings = with_database(self.settings, self._db)
        return self._db


def state_options(fn):
    """Add --state and --config to a command and pass it a `Context` as `ctx_`."""

    @click.option(
        "--state",
        "state_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="GATECAST_STATE_DIR",
        help="State folder (database, media, screenshots). Default /var/lib/gatecast.",
    )
    @click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="GATECAST_CONFIG",
        help="Config file. Default /etc/gatecast/gatecast.toml when it exists.",
    )
    @functools.wraps(fn)
    def wrapper(*args, state_dir=None, config_file=None, **kwargs):
        try:
            settings = load_settings(config_file=config_file, state_dir=state_dir)
        except SettingsError as e:
            raise click.ClickException(str(e)) from None
        return fn(*args, ctx_=Context(settings), **kwargs)

    return wrapper
