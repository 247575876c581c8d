"""`gatecast player`: run the player until stopped (systemd runs it on a gate)."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from kiosk.cliutil import state_options
from kiosk.settings import SettingsError
from kiosk.web.i18n import gate_gettext, say

# What a technician reads from `gatecast faces`, in the gate's language (the
# `language` setting): kiosk/player/translations (scripts/admin_catalogues.py
# --area player) over the shared kiosk/web catalogue.
CATALOGUE = Path(__file__).parent / "translations"


def _words(settings):
    return gate_gettext(settings, CATALOGUE)


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
    _ = _words(ctx_.settings)
    click.echo(_("display: %(display)s", display=layout.display))
    for o in layout.outputs:
        w, h = o.size
        click.echo(_("output %(name)s (%(connector)s): %(width)sx%(height)s", name=o.name,
                     connector=o.connector or _("no connector"), width=w, height=h)
                   + (f" @{o.refresh:g} Hz" if o.refresh else "")
                   + (", " + _("rotated %(degrees)s", degrees=o.rotation) if o.rotation else ""))
    names = {f["id"]: f["name"] for f in layout.faces}
    for p in layout.pictures:
        r = p.region
        where = _("whole output") if p.fills_output else f"{r.width}x{r.height}+{r.x}+{r.y}"
        faces = ", ".join(f"{f} {names[f]}" for f in p.faces)
        line = _("picture %(name)s on %(output)s, %(where)s: face %(faces)s", name=p.name,
                 output=p.output.name, where=where, faces=faces)
        click.echo(line + (" " + _("(mirrored)") if len(p.faces) > 1 else ""))


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
        from kiosk.power.words import CATALOGUE as POWER  # parse_duration's refusals

        raise click.ClickException(say(e, gate_gettext(ctx_.settings, CATALOGUE, POWER))) from None
    from kiosk.web import formatting

    _ = _words(ctx_.settings)
    click.echo(_("every face shows its number and name until %(time)s",
                 time=formatting.when(until, ctx_.settings["timezone"], seconds=True)))


def _who() -> str:
    import getpass

    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"
