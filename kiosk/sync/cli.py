"""`gatecast sync`: the service, one round of it, or its state."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from kiosk.cliutil import state_options
from kiosk.web.i18n import gate_gettext

# What `gatecast sync` refuses, in the gate's language (scripts/admin_catalogues.py --area sync).
CATALOGUE = Path(__file__).parent / "translations"


@click.command("sync")
@click.option("--once", is_flag=True,
              help="Pull once and send the queued reports once, then exit (status 1 if the pull failed).")
@click.option("--status", "show_status", is_flag=True,
              help="Print the sync state in the gate's language (as the admin shows it) and exit.")
@click.option("--json", "as_json", is_flag=True,
              help="The state as JSON (as the heartbeat sends it), codes not words.")
@state_options
def sync_cmd(once, show_status, as_json, ctx_):
    """Pull signed releases from the central authority and send reports.

    Runs until stopped: a TUF poll every sync_interval_s (jittered), a heartbeat
    every sync_heartbeat_interval_s, and a long-poll on central's change
    notification in between so an emergency release arrives within seconds.
    On any failure the screens keep their last-known-good release.

    \b
    Example:
        gatecast sync --state /var/lib/gatecast
        gatecast sync --once --config /etc/gatecast/gatecast.toml
        gatecast sync --status
    """
    from kiosk.sync.loop import AlreadyRunning, SyncService
    from kiosk.sync.status import sync_state

    db = ctx_.db
    if as_json:
        click.echo(json.dumps(sync_state(db), indent=2, ensure_ascii=False))
        return
    if show_status:
        click.echo("\n".join(_say(ctx_.settings)(sync_state(db))))
        return
    _ = gate_gettext(ctx_.settings, CATALOGUE)
    if not ctx_.settings["central_url"]:
        raise click.ClickException(_("central_url is not set: nothing to sync with "
                                     "(set it in the config file or GATECAST_CENTRAL_URL)"))
    if ctx_.settings["sync_clock"] not in ("ntp", "always", "never"):
        raise click.ClickException(_("sync_clock must be 'ntp', 'always' or 'never', not %(value)s",
                                     value=repr(ctx_.settings["sync_clock"])))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    service = SyncService(ctx_.settings, db)
    try:
        service.lock()
    except AlreadyRunning:
        raise click.ClickException(_("another gatecast sync already uses %(state)s",
                                     state=str(service.state_dir))) from None
    try:
        if once:
            pulled, _reported = service.once()
            click.echo("\n".join(_say(ctx_.settings)(sync_state(db))))
            if not pulled.ok:
                raise SystemExit(1)
            return
        service.run()
    except KeyboardInterrupt:
        pass
    finally:
        service.close()
        service.unlock()


def _say(settings):
    """The sync state in words, as the admin's dashboard says it (admin/events.py,
    through the gatecast.words entry point: the core does not name the admin)."""
    from kiosk import entrypoints

    words = entrypoints.words("sync")
    if words is None:  # no area says it: the codes
        return lambda state: [json.dumps(state, indent=2, ensure_ascii=False)]
    return words(settings)
