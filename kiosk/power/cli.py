"""`gatecast power ...` and `gatecast blank ...`: thin over kiosk.power.service."""

from __future__ import annotations

import getpass
import json

import click

from kiosk.cliutil import state_options
from kiosk.power import service
from kiosk.settings import SettingsError
from kiosk.store import get_state
from kiosk.power import words as power_words
from kiosk.web import formatting


def _by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


def _fail(e: Exception, ctx_=None):
    """A refusal in the gate's language (a PowerError says itself; a settings
    error stays as it is)."""
    if ctx_ is not None and hasattr(e, "say"):
        raise click.ClickException(e.say(_words(ctx_.settings))) from None
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
        _fail(e, ctx_)
    if as_json:
        click.echo(json.dumps(status, indent=2, ensure_ascii=False))
        return
    for line in status_lines(status, get_state(ctx_.db, "health") or {}, ctx_.settings):
        click.echo(line)
    _ = _words(ctx_.settings)
    for p in status["problems"]:
        click.echo(_("problem: %(problem)s", problem=power_words.say(p, _)), err=True)


# What a technician reads here, in the gate's language (kiosk/power/words.py).
_words = power_words.words


def status_lines(status: dict, health: dict, settings) -> list[str]:
    """`gatecast power status` as text: the kill switches, then each face."""
    _ = _words(settings)
    tz = status["timezone"]
    on_off = {"on": _("on"), "off": _("off")}
    sources = {"always": _("always on (no schedule)"), "schedule": _("power schedule"),
               "override": _("manual override"), "blank": _("kill switch")}
    weekdays = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
    lines = []
    b = status["blank"]
    if b["active"]:
        relays = " · " + _("relays off") if b["power_off"] else ""
        lines.append(_("KILL SWITCH ACTIVE since %(since)s by %(who)s: %(reason)s",
                       since=formatting.when(b["since"], tz), who=b["by"], reason=b["reason"])
                     + relays)
    c = status["central_blank"]
    if c["active"]:
        which = ", ".join(map(str, c["faces"])) or _("every face")
        lines.append(_("BLANKED FROM CENTRAL (%(faces)s) since %(since)s by %(who)s: %(reason)s "
                       "(only central releases it)", faces=which,
                       since=formatting.when(c["since"], tz), who=c["by"], reason=c["reason"]))
    lines.append(_("Now %(now)s (%(zone)s)", now=formatting.when(status["now"], tz), zone=tz))
    for f in status["faces"]:
        relay = f"GPIO{f['relay_pin']}" if f["relay_pin"] is not None else _("no relay")
        why = sources.get(f["source"], f["source"])
        if f["until"]:
            why = _("%(source)s, until %(time)s", source=why, time=formatting.when(f["until"], tz))
        power = on_off.get(f["power"]) or _("unknown")
        line = _("face %(id)s %(name)s [%(relay)s]: wants %(want)s (%(why)s), relay reports %(power)s",
                 id=f["id"], name=f["name"], relay=relay, want=on_off.get(f["want"], f["want"]),
                 why=why, power=power)
        lines.append(line + (", " + _("blanked") if f["blanked"] else ""))
        o = f["override"]
        if o:
            lines.append("    " + _("manual override %(state)s by %(who)s: %(reason)s",
                                    state=on_off.get(o["state"], o["state"]), who=o["by"],
                                    reason=o["reason"] or "-"))
        for w in f["windows"]:
            days = ",".join(weekdays[d] for d in w["weekdays"])
            lines.append("    " + _("power window %(start)s-%(end)s, days %(days)s (%(source)s)",
                                    start=w["start"], end=w["end"], days=days,
                                    source=_("central") if w["source"] == "central" else _("local")))
    for alarm in health.get("alarms", []):
        lines.append(_("Health alarm (%(time)s): %(message)s",
                       time=formatting.when(health.get("sampled_at"), tz, missing="?"),
                       message=power_words.alarm(
                           alarm, _, lambda n: formatting.size(n, power_words.language(settings)))))
    return lines


def _switch(state, face, for_, reason, ctx_):
    try:
        until = service.parse_duration(for_) if for_ else None
        service.set_override(ctx_.db, face, state, until, by=_by(), reason=reason,
                             settings=ctx_.settings)
    except (service.PowerError, SettingsError) as e:
        _fail(e, ctx_)
    _ = _words(ctx_.settings)
    who = _("every face") if face is None else _("face %(id)s", id=face)
    till = for_ or _("the next schedule boundary")
    state_word = _("on") if state == "on" else _("off")
    click.echo(_("%(who)s: power %(state)s until %(until)s", who=who, state=state_word,
                 until=till))


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
        _fail(e, ctx_)
    _ = _words(ctx_.settings)
    click.echo(_("removed %(n)s manual override(s)", n=n))


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
        _fail(e, ctx_)
    _ = _words(ctx_.settings)
    click.echo(_("every face blanked and switched off") if power_off else _("every face blanked"))


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
        _fail(e, ctx_)
    _ = _words(ctx_.settings)
    click.echo(_("kill switch released") if was_active else _("no kill switch was active"))
    central = service.power_status(ctx_.db, ctx_.settings)["central_blank"]
    if central["active"]:
        click.echo(_("central's kill switch still blanks the screens (%(who)s: %(reason)s); "
                     "only central releases it", who=central["by"], reason=central["reason"]))


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
