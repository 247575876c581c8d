"""The `gatecast` command. Subcommands live beside the code they drive and are
imported only when used, so `gatecast power status` does not load Flask.
"""

from __future__ import annotations

import importlib
import json

import click

from kiosk import __version__
from kiosk.cliutil import state_options
from kiosk.settings import SettingsError, check_layout

# name -> "module:attribute" of a click command or group. Areas add theirs.
SUBCOMMANDS: dict[str, str] = {
    "settings": "kiosk.cli:settings_cmd",
    "migrate": "kiosk.cli:migrate_cmd",
    "admin": "admin.cli:admin_group",
    "power": "kiosk.power.cli:power_group",
    "blank": "kiosk.power.cli:blank_group",
    "player": "kiosk.player.cli:player_cmd",
    "faces": "kiosk.player.cli:faces_group",
    "demo": "kiosk.demo:demo_cmd",
    "notice": "kiosk.text.cli:notice_group",
    "text": "kiosk.text.cli:text_group",
    "sync": "kiosk.sync.cli:sync_cmd",
    "central": "central.cli:central",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


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
    db = ctx_.db
    click.echo(f"database {ctx_.settings.db_path} is up to date ({len(db.table_names())} tables)")
