"""`gatecast power ...` and `gatecast blank ...`: thin over kiosk.power.service."""

from __future__ import annotations

import getpass
import json

import click

from kiosk.cliutil import state_options
from kiosk.power import service
from kiosk.settings import SettingsError
from kiosk.store import get_state


def _by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


def _fail(e: Exception):
    raise click.ClickException(str(e)) from None


@click.group("power")
def power_group():
    """Screen power: see and switch the faces' relays.

    \b
    Example:
        gatecast power status
        gatecast power off --face 2 --for 2h --reason "cleaning"
    """


@power_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@state_options
def status_cmd(as_json, ctx_):
    """Show each face's wanted and actual power, why, and until when.

    \b
    Example:
        gatecast power status --state /var/lib/gatecast
    """
    try:
        status = service.power_status(ctx_.db, ctx_.settings)
    except (service.PowerError, SettingsError) as e:
        _fail(e)
    if as_json:
        click.echo(json.dumps(status, indent=2, ensure_ascii=False))
        return
    b = status["blank"]
    if b["active"]:
        cut = ", power off" if b["power_off"] else ""
        click.echo(f"BLANKED{cut} since {b['since']} by {b['by']}: {b['reason']}")
    c = status["central_blank"]
    if c["active"]:
        which = ", ".join(map(str, c["faces"])) or "every face"
        click.echo(f"BLANKED FROM CENTRAL ({which}) since {c['since']} by {c['by']}: "
                   f"{c['reason']} (only central releases it)")
    click.echo(f"now {status['now']} ({status['timezone']})")
    for f in status["faces"]:
        relay = f"GPIO{f['relay_pin']}" if f["relay_pin"] is not None else "no relay"
        until = f" until {f['until']}" if f["until"] else ""
        line = (f"face {f['id']} {f['name']} [{relay}]: wants {f['want']} ({f['source']}{until}), "
                f"relay reports {f['power']}{', blanked' if f['blanked'] else ''}")
        click.echo(line)
        o = f["override"]
        if o:
            click.echo(f"    override {o['state']} by {o['by']}: {o['reason'] or '-'}")
        for w in f["windows"]:
            click.echo(f"    window {w['start']}-{w['end']} days {w['weekdays']} ({w['source']})")
    for p in status["problems"]:
        click.echo(f"problem: {p}", err=True)
    health = get_state(ctx_.db, "health") or {}
    for alarm in health.get("alarms", []):
        click.echo(f"health alarm ({health.get('sampled_at')}): {alarm['message']}")


def _switch(state, face, for_, reason, ctx_):
    try:
        until = service.parse_duration(for_) if for_ else None
        service.set_override(ctx_.db, face, state, until, by=_by(), reason=reason,
                             settings=ctx_.settings)
    except (service.PowerError, SettingsError) as e:
        _fail(e)
    who = "every face" if face is None else f"face {face}"
    click.echo(f"{who}: power {state} until {for_ or 'the next schedule boundary'}")


_face = click.option("--face", type=int, help="Face number; default every face.")
_for = click.option("--for", "for_", metavar="DURATION",
                    help="How long, e.g. 2h, 90m, 1h30m; default until the next schedule boundary.")
_reason = click.option("--reason", default="", help="Why (recorded in the event log).")


def _switch_command(state: str, example: str):
    @power_group.command(state)
    @_face
    @_for
    @_reason
    @state_options
    def cmd(face, for_, reason, ctx_):
        _switch(state, face, for_, reason, ctx_)

    cmd.help = (f"Switch faces {state}, over the power schedule, until the next boundary "
                f"or --for.\n\n\b\nExample:\n    {example}")
    return cmd


on_cmd = _switch_command("on", 'gatecast power on --face 1 --for 90m --reason "late arrivals"')
off_cmd = _switch_command("off", 'gatecast power off --face 2 --for 2h --reason "maintenance"')


@power_group.command("auto")
@_face
@state_options
def auto_cmd(face, ctx_):
    """Drop manual overrides: faces follow their power schedule again.

    \b
    Example:
        gatecast power auto --face 2
    """
    try:
        n = service.clear_override(ctx_.db, face, by=_by())
    except service.PowerError as e:
        _fail(e)
    click.echo(f"removed {n} override(s)")


@click.group("blank")
def blank_group():
    """The kill switch: every face black at once, until released.

    \b
    Example:
        gatecast blank on --reason "unapproved content on face 2"
        gatecast blank off
    """


@blank_group.command("on")
@click.option("--reason", required=True, help="Why the screens are blanked (recorded).")
@click.option("--power-off", is_flag=True, help="Also switch every relay off.")
@state_options
def blank_on_cmd(reason, power_off, ctx_):
    """Blank every face within a second (optionally switching them off).

    \b
    Example:
        gatecast blank on --reason "wrong content" --power-off
    """
    try:
        service.blank_on(ctx_.db, by=_by(), reason=reason, power_off=power_off)
    except service.PowerError as e:
        _fail(e)
    click.echo("every face blanked" + (" and switched off" if power_off else ""))


@blank_group.command("off")
@state_options
def blank_off_cmd(ctx_):
    """Release the kill switch: faces follow their schedule again.

    \b
    Example:
        gatecast blank off
    """
    try:
        was_active = service.power_status(ctx_.db, ctx_.settings)["blank"]["active"]
        service.blank_off(ctx_.db, by=_by())
    except (service.PowerError, SettingsError) as e:
        _fail(e)
    click.echo("blank released" if was_active else "no blank was active")
    central = service.power_status(ctx_.db, ctx_.settings)["central_blank"]
    if central["active"]:
        click.echo(f"central's kill switch still blanks the screens ({central['by']}: "
                   f"{central['reason']}); only central releases it")


@power_group.command("health")
@state_options
def health_cmd(ctx_):
    """Sample the controller's health now (temperature, throttling, disk, memory,
    uptime, addresses, clock sync) and print it as JSON. Absent sensors are null.

    \b
    Example:
        gatecast power health --state /var/lib/gatecast
    """
    from kiosk.power.health import read_health

    s = ctx_.settings
    h = read_health(s.state_path, temp_alarm_c=s["cpu_temp_alarm_c"],
                    disk_alarm_mb=s["disk_free_alarm_mb"])
    click.echo(json.dumps(h, indent=2, ensure_ascii=False))
