"""The `gatecast` command. Subcommands live beside the code they drive and are
imported only when used, so `gatecast power status` does not load Flask.
"""

from __future__ import annotations

import json

import click

from kiosk import __version__
from kiosk.cliutil import state_options, words
from kiosk.entrypoints import EntryPointsMissing, declared
from kiosk.settings import SettingsError, check_layout


class LazyGroup(click.Group):
    """Subcommands are the `gatecast.commands` entry points (pyproject.toml)."""

    def _commands(self):
        try:
            return declared("gatecast.commands")
        except EntryPointsMissing as e:
            raise click.ClickException(str(e)) from None

    def list_commands(self, ctx):
        return sorted(self._commands())

    def get_command(self, ctx, name):
        ep = self._commands().get(name)
        return None if ep is None else ep.load()


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="gatecast")
def main():
    """gatecast: controller software for border-gate information screens.

    \b
    Example:
        gatecast demo
    """


@click.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--check", is_flag=True,
              help="Only check the config file, faces and outputs; do not open the database.")
@state_options
def settings_cmd(as_json, check, ctx_):
    """Show every setting with its value and where the value came from.

    With --check, only validate the configuration and exit non-zero on an
    error: provisioning checks a new config file with the new release this
    way before switching to it.

    \b
    Example:
        gatecast settings --state ./demo-state
        gatecast settings --check --config /etc/gatecast/gatecast.toml
    """
    if check:
        try:
            layout = check_layout(ctx_.settings)
        except SettingsError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"configuration OK ({len(layout.faces)} face(s), {len(layout.pictures)} "
                   f"picture(s) on {len(layout.outputs)} output(s), display {layout.display})")
        return
    ctx_.db  # noqa: B018 - include values saved in the database
    s = ctx_.settings
    if as_json:
        click.echo(json.dumps(dict(s), indent=2, ensure_ascii=False))
        return
    for name in s:
        click.echo(f"{name} = {json.dumps(s[name], ensure_ascii=False)}  ({s.origins[name]})")


@click.command("migrate")
@state_options
def migrate_cmd(ctx_):
    """Create or upgrade the gate database in the state folder.

    Every gatecast process also does this at start; the command exists for
    provisioning and for checking an upgrade by hand.

    \b
    Example:
        gatecast migrate --state /var/lib/gatecast
    """
    ctx_.create_db = True
    db = ctx_.db
    _ = words(ctx_.settings)
    click.echo(_("database %(path)s is up to date (%(tables)s tables)", path=ctx_.settings.db_path,
                 tables=len(db.table_names())))
