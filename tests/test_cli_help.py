"""Every `gatecast` command, however deep, documents itself with an example."""

import click

from kiosk.cli import main


def _commands(cmd, path, ctx):
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            yield from _commands(cmd.get_command(ctx, name), path + [name], ctx)
    else:
        yield " ".join(path), cmd


def test_every_command_help_has_an_example():
    ctx = click.Context(main)
    commands = dict(_commands(main, ["gatecast"], ctx))
    assert "gatecast power status" in commands and "gatecast blank on" in commands
    missing = [name for name, cmd in commands.items() if "Example:" not in (cmd.help or "")]
    assert not missing, f"add an 'Example:' block to the help of: {missing}"
