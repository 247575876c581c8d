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
    """Show the schedule on the faces: one mpv per picture, proof of
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


@click.group("faces")
def faces_group():
    """The faces of this cluster: which output and region each one shows.

    \b
    Example:
        gatecast faces list
        gatecast faces identify --for 10s
    """


@faces_group.command("list")
@state_options
def faces_list_cmd(ctx_):
    """List outputs, pictures and faces as configured (mirrored faces share a picture).

    \b
    Example:
        gatecast faces list --config /etc/gatecast/gatecast.toml
    """
    from kiosk.settings import check_layout

    try:
        layout = check_layout(ctx_.settings)
    except SettingsError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"display: {layout.display}")
    for o in layout.outputs:
        w, h = o.size
        click.echo(f"output {o.name} ({o.connector or 'no connector'}): {w}x{h}"
                   f"{f' @{o.refresh:g} Hz' if o.refresh else ''}"
                   f"{f', rotated {o.rotation}' if o.rotation else ''}")
    names = {f["id"]: f["name"] for f in layout.faces}
    for p in layout.pictures:
        r = p.region
        where = "whole output" if p.fills_output else f"{r.width}x{r.height}+{r.x}+{r.y}"
        faces = ", ".join(f"{f} {names[f]}" for f in p.faces)
        mirrored = " (mirrored)" if len(p.faces) > 1 else ""
        click.echo(f"picture {p.name} on {p.output.name}, {where}: face {faces}{mirrored}")


@faces_group.command("identify")
@click.option("--for", "for_", default="10s", show_default=True, metavar="DURATION",
              help="How long, e.g. 10s, 1m.")
@state_options
def faces_identify_cmd(for_, ctx_):
    """Make every face show its number and name in large type for a while,
    so faces can be matched to the physical sides of the cluster.

    \b
    Example:
        gatecast faces identify --for 10s
    """
    from kiosk.player.identify import IdentifyError, request_identify
    from kiosk.power.service import PowerError, parse_duration

    try:
        seconds = parse_duration(for_).total_seconds()
        until = request_identify(ctx_.db, seconds, by=_who())
    except (IdentifyError, PowerError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"every face shows its number and name until {until:%H:%M:%S} UTC")


def _who() -> str:
    import getpass

    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"
