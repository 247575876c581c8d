"""`gatecast player`: run the player until stopped (systemd runs it on a gate)."""

from __future__ import annotations

import signal

import click

from kiosk.cliutil import state_options
from kiosk.settings import SettingsError


def run_player(settings, duration: float | None = None) -> None:
    """Run the player in this process; SIGTERM/SIGINT stop it cleanly."""
    from kiosk import jsonlog
    from kiosk.player.loop import Player

    jsonlog.setup()
    player = Player(settings)
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: player.stop())
    try:
        player.run(duration=duration)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command("player")
@click.option("--for", "duration", type=click.FloatRange(min=0), default=None,
              help="Stop after this many seconds (tests, trials). Default: run until stopped.")
@state_options
def player_cmd(duration, ctx_):
    """Show the schedule on the faces: one mpv per display output, proof of
    play, face state and screenshots written to the database and state folder.

    Logs are JSON lines on stdout. SIGTERM stops it cleanly.

    \b
    Example:
        gatecast player --state /var/lib/gatecast
    """
    ctx_.db  # noqa: B018 - migrate, and read settings saved in the database
    try:
        run_player(ctx_.settings, duration)
    except SettingsError as e:
        raise click.ClickException(str(e)) from None
