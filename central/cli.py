"""`gatecast central ...`: the central server's command line, thin over the
library modules (each command opens the central database, calls one
function, and turns CentralError into a click error)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from kiosk.settings import SettingsError
from kiosk.web.i18n import N_

from central.checks import CentralError, in_words


def central_settings(fn):
    """Add --state and --config and pass central's settings as `settings`."""

    @click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
                  envvar="GATECAST_STATE_DIR",
                  help="Central's state folder (repository, library, SQLite database). "
                       "Default /var/lib/gatecast-central.")
    @click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                  envvar="GATECAST_CENTRAL_CONFIG",
                  help="Central's config file. Default /etc/gatecast/central.toml when it "
                       "exists.")
    @functools.wraps(fn)
    def wrapper(*args, state_dir=None, config_file=None, **kwargs):
        from central.settings import load_central_settings

        try:
            settings = load_central_settings(config_file=config_file, state_dir=state_dir)
        except SettingsError as e:
            raise click.ClickException(str(e)) from None
        return fn(*args, settings=settings, **kwargs)

    return wrapper


def central_db(fn):
    """Add --state/--config and pass the settings and the migrated central store."""

    @central_settings
    @functools.wraps(fn)
    def wrapper(*args, settings, **kwargs):
        from sqlalchemy.exc import SQLAlchemyError

        from central.db import open_central_db

        try:
            db = open_central_db(settings)
        except (SQLAlchemyError, ValueError) as e:  # down, refusing us, or a bad URL
            from central.i18n import say

            raise click.ClickException(say(N_("cannot open the central database: %(why)s"),
                                           settings["central_language"], why=e)) from None
        from central.i18n import speaking

        try:
            # In the province's language, like the console: refusals the
            # library translates where it raises them too (central.i18n.speaking).
            with speaking(settings["central_language"]):
                return fn(*args, settings=settings, db=db, **kwargs)
        except CentralError as e:
            raise click.ClickException(in_words(e, settings["central_language"])) from None
        finally:
            db.close()

    return wrapper


def acting(right: str):
    """Add --as NAME and --token (GATECAST_CENTRAL_USER, GATECAST_CENTRAL_TOKEN,
    else a hidden prompt) and pass the checked user's name as `by`: the one
    check of every command that acts for a person (central.users.acting_user:
    the token must be that user's and the role must have `right`). Goes
    below @central_db."""

    def deco(fn):
        @click.option("--as", "as_user", envvar="GATECAST_CENTRAL_USER", required=True,
                      help="Who you act as (GATECAST_CENTRAL_USER); checked with their token.")
        @click.option("--token", envvar="GATECAST_CENTRAL_TOKEN", prompt="API token",
                      hide_input=True,
                      help="That user's API token (better from GATECAST_CENTRAL_TOKEN or the "
                           "prompt than on the command line).")
        @functools.wraps(fn)
        def wrapper(*args, as_user, token, db, **kwargs):
            from central.users import acting_user

            user = acting_user(db, as_user, token, right)
            return fn(*args, by=user["name"], db=db, **kwargs)

        return wrapper

    return deco


def repo_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from central.repo import RepositoryError

        try:
            return fn(*args, **kwargs)
        except RepositoryError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


def target_options(fn):
    """--gate ID or --group ID: whom an assignment is for."""
    fn = click.option("--group", "group_id", help="Group of gates to assign to.")(fn)
    fn = click.option("--gate", "gate_id", help="Gate to assign to.")(fn)

    @functools.wraps(fn)
    def wrapper(*args, gate_id=None, group_id=None, **kwargs):
        if bool(gate_id) == bool(group_id):
            raise click.UsageError("give exactly one of --gate ID or --group ID")
        target = ("gate", gate_id) if gate_id else ("group", group_id)
        return fn(*args, target=target, **kwargs)

    return wrapper


def _texts(pairs) -> dict[str, str]:
    texts = {}
    for pair in pairs:
        lang, sep, text = pair.partition("=")
        if not sep:
            raise click.UsageError(f"--text wants LANG=TEXT, e.g. vi='Đóng cửa', got {pair!r}")
        texts[lang.strip()] = text
    return texts


@click.group("central")
def central():
    """The reference central server: content, gates, publishing, reports.

    \b
    Example:
        gatecast central init --state ./central-state
        gatecast central serve --state ./central-state --bind 127.0.0.1:8700
    """


@central.command("init")
@click.option("--offline-keys", type=click.Path(file_okay=False, path_type=Path),
              help="Write the root and targets keys here (e.g. a USB stick) instead of "
                   "<state>/keys.")
@central_db
@repo_errors
def init_cmd(offline_keys, settings, db):
    """Create the signed TUF repository, its keys and the central database.

    Prints where the keys went and the root metadata each gate pins at
    installation.

    \b
    Example:
        gatecast central init --state /var/lib/gatecast-central --offline-keys /media/usb/keys
    """
    from central.app import repository_for

    from central.users import SERVER_SHELL, audit

    repo = repository_for(settings, offline_keys)
    repo.init()
    audit(db, SERVER_SHELL, "repository.init", "repository",
          {"offline_keys": repo.offline_keys_dir != repo.keys_dir})
    click.echo(_words(N_("repository created in %(folder)s"), folder=repo.base))
    click.echo(_words(N_("online keys (publisher, snapshot, timestamp): %(folder)s"),
                      folder=repo.keys_dir))
    click.echo(_words(N_("offline keys (root, targets): %(folder)s"),
                      folder=repo.offline_keys_dir))
    if repo.offline_keys_dir == repo.keys_dir:
        click.echo("  " + _words(N_("move root.pem and targets.pem off this machine; pass "
                                    "--offline-keys DIR when rotating keys")))
    click.echo(_words(N_("pin this root on every gate: %(path)s"), path=repo.trusted_root_path))


@central.command("serve")
@click.option("--bind", help="HOST:PORT (default: the central_bind setting).")
@click.option("--workers", type=int, help="Worker processes (default: central_workers).")
@click.option("--threads", type=int, help="Threads per worker (default: central_threads).")
@central_settings
def serve_cmd(bind, workers, threads, settings):
    """Run the central server: signed repository, report API, overview.

    \b
    Example:
        gatecast central serve --state /var/lib/gatecast-central --bind 127.0.0.1:8700
    """
    from central.app import repository_for
    from central.server import serve

    s = settings
    if not repository_for(s).exists():
        raise click.ClickException(f"no repository in {s.state_path}: run `gatecast central init`")
    serve(s, bind or s["central_bind"], workers or s["central_workers"],
          threads or s["central_threads"])


@central.command("serve-reports")
@click.option("--bind", required=True,
              help="HOST:PORT, e.g. 127.0.0.1:8702 (nginx's upstream gatecast_reports).")
@click.option("--threads", type=int, default=4, show_default=True,
              help="Gate token look-ups at once (a token not in memory reads the database "
                   "off the event loop); reports waiting for their commit hold no thread.")
@central_settings
def serve_reports_cmd(bind, threads, settings):
    """Serve the gates' heartbeats and proof of play (only those) with an
    event-driven server, behind nginx; `serve` answers everything else and runs
    the background jobs. Run `gatecast central migrate` (or `serve`) first.

    \b
    Example:
        gatecast central serve-reports --state /var/lib/gatecast-central --bind 127.0.0.1:8702
    """
    from central.report_server import serve_reports

    serve_reports(settings, bind, threads)


@central.command("migrate")
@central_settings
def migrate_cmd(settings):
    """Bring the central database to the newest schema (the server does this
    itself at start; run it before starting several application servers).

    \b
    Example:
        gatecast central migrate --config /etc/gatecast/central.toml
    """
    from sqlalchemy.exc import SQLAlchemyError

    from central.db import Store, database_url, head_revision, migrate, schema_revision

    url = database_url(settings)
    try:
        migrate(url)
        store = Store(url, pool_size=1)
        try:
            revision = schema_revision(store)
        finally:
            store.close()
    except (SQLAlchemyError, ValueError) as e:
        from central.i18n import say

        raise click.ClickException(say(N_("cannot migrate the central database: %(why)s"),
                                       settings["central_language"], why=e)) from None
    from central.i18n import say

    click.echo(say(N_("central database at schema %(revision)s (newest %(newest)s)"),
                   settings["central_language"], revision=revision, newest=head_revision()))


@central.command("refresh")
@central_db
@repo_errors
def refresh_cmd(settings, db):
    """Re-sign online metadata past half its lifetime (the server does this
    itself; run it from cron when nginx serves the repository alone).

    \b
    Example:
        gatecast central refresh --state /var/lib/gatecast-central
    """
    from central.app import repository_for

    from central.users import SERVER_SHELL, audit

    roles = repository_for(settings).refresh()
    if roles:
        audit(db, SERVER_SHELL, "repository.refresh", "repository", {"roles": list(roles)})
    click.echo(_words(N_("re-signed %(roles)s"), roles=", ".join(roles)) if roles
               else _words(N_("nothing due")))


@central.command("prune")
@click.option("--older-than-days", type=click.FloatRange(min=0), default=7.0, show_default=True,
              help="Keep superseded files younger than this (gates part-way through an update).")
@central_db
@repo_errors
def prune_cmd(older_than_days, settings, db):
    """Delete repository files the current version no longer names (the server
    does this itself with the default age; roots are never deleted).

    \b
    Example:
        gatecast central prune --state /var/lib/gatecast-central
    """
    from datetime import timedelta

    from central.app import repository_for

    from central.users import SERVER_SHELL, audit

    removed = repository_for(settings).prune(timedelta(days=older_than_days))
    if any(removed.values()):
        audit(db, SERVER_SHELL, "repository.prune", "repository", dict(removed))
    click.echo(_words(N_("removed %(metadata)s metadata and %(targets)s target file(s)"),
                      metadata=removed["metadata"], targets=removed["targets"]))


@central.command("rotate-key")
@click.argument("role", type=click.Choice(["root", "targets", "snapshot", "timestamp",
                                           "publisher"]))
@click.option("--offline-keys", type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding root.pem and targets.pem.")
@central_db
@repo_errors
def rotate_key_cmd(role, offline_keys, settings, db):
    """Replace a role's signing key; gates accept the change at their next poll.

    Top-level roles need the root key, publisher needs the targets key.

    \b
    Example:
        gatecast central rotate-key timestamp --offline-keys /media/usb/keys
    """
    from central.app import repository_for
    from central.users import SERVER_SHELL, audit

    keyid = repository_for(settings, offline_keys).rotate_key(role)
    audit(db, SERVER_SHELL, "key.rotate", role, {"keyid": keyid})
    click.echo(_words(N_("%(role)s key rotated; new keyid %(keyid)s"), role=role, keyid=keyid))


# ---- users -------------------------------------------------------------------
@central.group("user")
def user_group():
    """People who manage content and read the overview.

    These commands do not ask --as: they are how the server's own shell makes
    the first admin (there is no default account), and a shell on the central
    server already holds root-level trust (the online signing keys and the
    database are there). Audited as "cli". Everything else (the console,
    the API, the other commands) needs a user and that user's token.

    \b
    Example:
        gatecast central user add lan --role approver
    """


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "editor", "approver", "operator", "admin"]),
              required=True,
              help="editor: prepares content; approver: approves; operator: fleet, kill switch, "
                   "emergency; admin: everything and users; viewer: reads only.")
@central_db
def user_add_cmd(name, role, settings, db):
    """Add a user; print their console one-time password and API token (shown once).

    The first admin of a new server comes from here (there is no default
    account). The one-time password must be changed at the first login.

    \b
    Example:
        gatecast central user add lan --role approver
    """
    from central.users import add_user, set_one_time_password

    token = add_user(db, name, role)
    password = set_one_time_password(db, name, "cli")
    click.echo(_words(N_("user %(name)s (%(role)s) added"), name=name, role=role))
    click.echo(_words(N_("console one-time password (change it at the first login): "
                         "%(password)s"), password=password))
    # The token stays the last line, alone (scripts take it from there).
    click.echo(_words(N_("API token for scripts (shown once; GATECAST_CENTRAL_TOKEN):")))
    click.echo(token)


@user_group.command("password")
@click.argument("name")
@central_db
def user_password_cmd(name, settings, db):
    """Give a user a new one-time console password (ends their sessions).

    \b
    Example:
        gatecast central user password lan
    """
    from central.users import set_one_time_password

    click.echo(_words(N_("console one-time password: %(password)s"),
                      password=set_one_time_password(db, name, "cli")))


@user_group.command("list")
@central_db
def user_list_cmd(settings, db):
    """Every user, their role, and whether they are disabled.

    \b
    Example:
        gatecast central user list
    """
    from central.users import list_users

    for u in list_users(db):
        state = "disabled" if u["disabled"] else "active"
        click.echo(f"{u['name']:24} {u['role']:9} {state}  last login "
                   f"{u['last_login_at'] or 'never'}")


@user_group.command("token")
@click.argument("name")
@central_db
def user_token_cmd(name, settings, db):
    """Issue a new API token for a user (the old one stops working).

    \b
    Example:
        gatecast central user token lan
    """
    from central.users import reissue_user_token

    click.echo(reissue_user_token(db, name))


@user_group.command("remove")
@click.argument("name")
@central_db
def user_remove_cmd(name, settings, db):
    """Revoke a user: their token stops working at once.

    \b
    Example:
        gatecast central user remove lan
    """
    from central.users import remove_user

    remove_user(db, name)
    click.echo(_words(N_("user %(name)s removed"), name=name))


# ---- media ---------------------------------------------------------------------
@central.group("media")
def media_group():
    """The content library: add, approve, reject, retire, list.

    \b
    Example:
        gatecast central media add welcome.mp4
    """


@media_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="Display name (default: the file name).")
@click.option("--text", "is_text", is_flag=True, help="FILE is a text slide spec (JSON).")
@click.option("--language", help="The language of a video or picture: vi, en, zh, lo or km "
                                   "(reports count airtime per language); a text slide "
                                   "carries its own.")
@central_db
@acting("edit")
def media_add_cmd(file, name, is_text, language, by, settings, db):
    """Check a video, image or text slide and add it to the library (unapproved).

    \b
    Example:
        GATECAST_CENTRAL_TOKEN=... gatecast central media add welcome.mp4 \\
            --name "Welcome (vi/en)" --as minh
        gatecast central media add chao-mung.mp4 --language vi --as minh
    """
    from central.library import add_media, add_text

    if is_text and language:
        raise click.UsageError("--language is for a video or picture: a text slide says its "
                               "languages in its spec.")
    if is_text:
        row = add_text(db, settings.state_path, file.read_bytes(), name or file.name, by=by)
    else:
        from kiosk.validate import Limits

        row = add_media(db, settings.state_path, file, name or file.name, by=by,
                        limits=Limits.from_settings(settings), language=language)
    click.echo(f"{row['sha256']}  {row['kind']}  {row['state']}  {row['name']}")


@media_group.command("list")
@click.option("--only", "media_state", type=click.Choice(["uploaded", "approved", "rejected", "retired"]),
              help="Only media in this state.")
@central_db
def media_list_cmd(media_state, settings, db):
    """List the library.

    \b
    Example:
        gatecast central media list --only uploaded
    """
    from central.library import list_media

    for row in list_media(db, media_state):
        click.echo(f"{row['sha256']}  {row['kind']:5}  {row['state']:8}  {row['name']}")


@media_group.command("approve")
@click.argument("sha")
@central_db
@acting("approve")
def media_approve_cmd(sha, by, settings, db):
    """Approve media for publishing (SHA: at least 8 hex digits). An approver
    or admin, never the person who uploaded it (four eyes).

    \b
    Example:
        GATECAST_CENTRAL_TOKEN=... gatecast central media approve 3f2a9c1e --as lan
    """
    from central.library import approve_media, resolve_media

    row = approve_media(db, resolve_media(db, sha), by)
    click.echo(_words(N_("%(sha)s approved by %(name)s"), sha=row["sha256"], name=by))


@media_group.command("reject")
@click.argument("sha")
@click.option("--reason", required=True,
              help="Why it is refused (the uploader reads it in the console).")
@central_db
@acting("approve")
def media_reject_cmd(sha, reason, by, settings, db):
    """Reject media: it cannot be published; the reason is kept for the
    uploader (approver or admin).

    \b
    Example:
        GATECAST_CENTRAL_TOKEN=... gatecast central media reject 3f2a9c1e \\
            --reason "Sai giờ mở cửa" --as lan
    """
    from central.library import reject_media, resolve_media

    row = reject_media(db, resolve_media(db, sha), by, reason)
    click.echo(_words(N_("%(sha)s rejected by %(name)s"), sha=row["sha256"], name=by))


@media_group.command("retire")
@click.argument("sha")
@central_db
@acting("approve")
def media_retire_cmd(sha, by, settings, db):
    """Retire media: it leaves every screen at the next publish (approver or admin).

    \b
    Example:
        GATECAST_CENTRAL_TOKEN=... gatecast central media retire 3f2a9c1e --as lan
    """
    from central.library import resolve_media, retire_media

    row = retire_media(db, resolve_media(db, sha), by)
    click.echo(_words(N_("%(sha)s retired"), sha=row["sha256"]))


# ---- gates and groups ----------------------------------------------------------
@central.group("gate")
def gate_group():
    """Register gates and issue their API tokens.

    \b
    Example:
        gatecast central gate add lang-son-huu-nghi --name "Hữu Nghị" --faces 1,2
    """


def position_options(fn):
    """--lat/--lon: where a gate stands on the fleet map."""
    fn = click.option("--lon", type=float, help="Longitude, degrees east (WGS 84).")(fn)
    return click.option("--lat", type=float, help="Latitude, degrees north (WGS 84).")(fn)


@gate_group.command("add")
@click.argument("gate_id")
@click.option("--name", required=True)
@click.option("--province", default="")
@click.option("--faces", default="1", show_default=True, help="Face ids, e.g. 1,2.")
@position_options
@central_db
@acting("gates")
def gate_add_cmd(gate_id, name, province, faces, lat, lon, by, settings, db):
    """Register a gate; prints its API token once (put it in the gate's config).

    \b
    Example:
        gatecast central gate add lang-son-huu-nghi --name "Hữu Nghị" --province "Lạng Sơn" \\
            --faces 1,2 --lat 21.9967 --lon 106.7036 --as chi
    """
    from central.fleet import add_gate

    click.echo(add_gate(db, gate_id, name, province, faces, by=by, latitude=lat,
                        longitude=lon))


@gate_group.command("set")
@click.argument("gate_id")
@click.option("--name", help="New display name.")
@click.option("--province", help="New province.")
@position_options
@click.option("--clear-position", is_flag=True, help="Take the gate off the map.")
@central_db
@acting("gates")
def gate_set_cmd(gate_id, name, province, lat, lon, clear_position, by, settings, db):
    """Change a gate's name, province or place on the fleet map.

    \b
    Example:
        gatecast central gate set lang-son-huu-nghi --lat 21.9967 --lon 106.7036 --as chi
    """
    from central.fleet import update_gate

    position = None if clear_position else ...
    if lat is not None or lon is not None:
        if clear_position:
            raise click.UsageError("--clear-position and --lat/--lon contradict each other")
        position = (lat, lon)
    update_gate(db, gate_id, name=name, province=province, position=position, by=by)
    click.echo(_words(N_("gate %(gate)s updated"), gate=gate_id))


@gate_group.command("token")
@click.argument("gate_id")
@central_db
@acting("gates")
def gate_token_cmd(gate_id, by, settings, db):
    """Issue a new API token for a gate (the old one stops working).

    \b
    Example:
        gatecast central gate token lang-son-huu-nghi --as chi
    """
    from central.fleet import reissue_token

    click.echo(reissue_token(db, gate_id, by=by))


# ---- kill switch -----------------------------------------------------------------
def _said_blank(result) -> None:
    b, pub = result.blank, result.publication
    if b["active"]:
        faces = ", ".join(map(str, b["faces"])) or "every face"
        click.echo(_words(N_("gate %(gate)s blanked from central (%(faces)s)"),
                          gate=result.gate_id, faces=faces))
    else:
        click.echo(_words(N_("gate %(gate)s: central's blank released"), gate=result.gate_id))
    version = pub.changed.get(result.gate_id) or pub.unchanged.get(result.gate_id)
    click.echo("  " + _words(N_("signed in release %(version)s (repository version "
                                "%(repository)s)"), version=version,
                             repository=pub.repository_version))


@central.command("blank")
@click.option("--gate", "gate_id", required=True, help="The gate whose faces go black.")
@click.option("--faces", default="", help="Only these faces, e.g. 1,2 (default: every face).")
@click.option("--reason", required=True, help="Why (kept in the audit log and on the gate).")
@central_db
@acting("fleet")
@repo_errors
def blank_cmd(gate_id, faces, reason, by, settings, db):
    """Kill switch: blank a gate's faces from central, through its signed release.

    The faces stay black until `gatecast central unblank`; a publish or an
    emergency keeps the blank. The technician's own kill switch on the gate is
    separate: releasing either one never releases the other.

    \b
    Example:
        gatecast central blank --gate lang-son-huu-nghi --faces 2 \\
            --reason "wrong content on face 2" --as lan
    """
    from central.app import repository_for
    from central.feed import feed_for
    from central.killswitch import blank

    _said_blank(blank(db, repository_for(settings), gate_id, by=by, reason=reason,
                      faces=faces, feed=feed_for(settings)))


@central.command("unblank")
@click.option("--gate", "gate_id", required=True, help="The gate to release.")
@click.option("--reason", required=True, help="Why (kept in the audit log and on the gate).")
@central_db
@acting("fleet")
@repo_errors
def unblank_cmd(gate_id, reason, by, settings, db):
    """Release central's kill switch on a gate: its faces show content again.

    \b
    Example:
        gatecast central unblank --gate lang-son-huu-nghi --reason "content fixed" --as lan
    """
    from central.app import repository_for
    from central.feed import feed_for
    from central.killswitch import unblank

    _said_blank(unblank(db, repository_for(settings), gate_id, by=by, reason=reason,
                        feed=feed_for(settings)))


@central.command("group")
@click.argument("group_id")
@click.argument("gate_ids", nargs=-1)
@click.option("--name", default="")
@central_db
@acting("gates")
def group_cmd(group_id, gate_ids, name, by, settings, db):
    """Create a group of gates or add gates to it.

    \b
    Example:
        gatecast central group lang-son lang-son-huu-nghi lang-son-tan-thanh --as chi
    """
    from central.fleet import add_group

    add_group(db, group_id, name, gate_ids, by=by)
    click.echo(_words(N_("group %(group)s: %(gates)s"), group=group_id,
                      gates=", ".join(gate_ids) or _words(N_("no gates added"))))


@central.command("gates")
@click.option("--json", "as_json", is_flag=True)
@central_db
def gates_cmd(as_json, settings, db):
    """Every gate: online or offline, release versions, latest screenshots.

    \b
    Example:
        gatecast central gates --state /var/lib/gatecast-central
    """
    from central.fleet import overview

    rows = overview(db, settings["central_heartbeat_interval_s"])
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        state = "online " if r["online"] else "OFFLINE"
        shots = ", ".join(f"face {s['face_id']} {s['taken_at'] or s['received_at']}"
                          for s in r["screenshots"]) or "no screenshot"
        click.echo(f"{r['id']:24} {state} playing {r['release_version']} "
                   f"published {r['published_version']} last heartbeat "
                   f"{r['last_heartbeat_at'] or 'never'}; {shots}")


# ---- playlists and assignments --------------------------------------------------
@central.command("playlist")
@click.argument("playlist_id")
@click.argument("items", nargs=-1, required=True)
@click.option("--name", default="")
@central_db
@acting("edit")
def playlist_cmd(playlist_id, items, name, by, settings, db):
    """Create or replace a playlist. ITEM is SHA or SHA:SECONDS.

    \b
    Example:
        gatecast central playlist morning 3f2a9c1e 9b0d77aa:15 --name "Morning" --as minh
    """
    from central.library import resolve_media, save_playlist

    parsed = []
    for item in items:
        sha, _, seconds = item.partition(":")
        try:
            parsed.append((resolve_media(db, sha), float(seconds) if seconds else None))
        except ValueError:
            raise click.UsageError(f"ITEM is SHA or SHA:SECONDS, got {item!r}") from None
    click.echo(save_playlist(db, playlist_id, name, parsed, by=by))


@central.command("playlist-delete")
@click.argument("playlist_id")
@central_db
@acting("edit")
def playlist_delete_cmd(playlist_id, by, settings, db):
    """Delete a playlist that no schedule entry, fallback or live emergency
    uses (refused, saying where it is used).

    \b
    Example:
        gatecast central playlist-delete morning --as minh
    """
    from central.assign import delete_playlist, playlist_version
    from central.library import central_id, get_playlist

    pid = central_id(playlist_id, "playlist")
    name = delete_playlist(db, pid, playlist_version(get_playlist(db, pid)), by=by)
    click.echo(_words(N_("deleted playlist %(id)s (%(name)s)"), id=pid.removeprefix("c-"),
                      name=name))


@central.group("assign")
def assign_group():
    """Assign schedule entries, fallbacks, power windows and notices to a gate or group.

    \b
    Example:
        gatecast central assign entry --group lang-son --playlist morning --start 06:00 --end 22:00 --as minh
    """


@assign_group.command("entry")
@target_options
@click.option("--playlist", required=True)
@click.option("--faces", default="", help="Face ids, e.g. 1,2 (default: every face).")
@click.option("--start", default="00:00", show_default=True)
@click.option("--end", default="24:00", show_default=True)
@click.option("--weekdays", default="0,1,2,3,4,5,6", show_default=True, help="0 = Monday.")
@click.option("--from", "start_date", help="First date, YYYY-MM-DD.")
@click.option("--until", "end_date", help="Last date, YYYY-MM-DD.")
@click.option("--level", type=click.Choice(["normal", "priority", "emergency"]), default="normal")
@click.option("--name", default="")
@click.option("--id", "entry_id", help="Entry id (default: generated).")
@central_db
@acting("edit")
def assign_entry_cmd(target, playlist, faces, start, end, weekdays, start_date, end_date,
                     level, name, entry_id, by, settings, db):
    """Play a playlist on faces in a daily window.

    \b
    Example:
        gatecast central assign entry --gate lang-son-huu-nghi --playlist morning --faces 1 --start 06:00 --end 11:00 --as minh
    """
    from central.assign import add_entry

    click.echo(add_entry(db, *target, playlist, faces=faces, start_time=start, end_time=end,
                         weekdays=weekdays, start_date=start_date, end_date=end_date,
                         level=level, name=name, entry_id=entry_id, by=by))


@assign_group.command("fallback")
@target_options
@click.option("--playlist", required=True)
@click.option("--face", type=int, help="Face id (default: every face).")
@central_db
@acting("edit")
def assign_fallback_cmd(target, playlist, face, by, settings, db):
    """The playlist a face shows when no entry is active.

    \b
    Example:
        gatecast central assign fallback --group lang-son --playlist loop --as minh
    """
    from central.assign import set_fallback

    click.echo(set_fallback(db, *target, playlist, face, by=by))


@assign_group.command("power")
@target_options
@click.option("--start", required=True)
@click.option("--end", required=True)
@click.option("--face", type=int, help="Face id (default: every face).")
@click.option("--weekdays", default="0,1,2,3,4,5,6", show_default=True)
@central_db
@acting("edit")
def assign_power_cmd(target, start, end, face, weekdays, by, settings, db):
    """A weekly on-window for the faces' power.

    \b
    Example:
        gatecast central assign power --group lang-son --start 05:30 --end 22:30 --as minh
    """
    from central.assign import add_power_window

    click.echo(add_power_window(db, *target, start, end, face, weekdays, by=by))


@assign_group.command("notice")
@target_options
@click.option("--text", "texts", multiple=True, required=True, help="LANG=TEXT, repeatable.")
@click.option("--kind", type=click.Choice(["ticker", "slide"]), default="ticker")
@click.option("--level", type=click.Choice(["normal", "priority", "emergency"]), default="normal")
@click.option("--faces", default="")
@click.option("--starts", help="ISO 8601 instant with offset.")
@click.option("--expires", help="ISO 8601 instant with offset.")
@central_db
@acting("edit")
def assign_notice_cmd(target, texts, kind, level, faces, starts, expires, by, settings, db):
    """A text notice (ticker or slide) in one or more languages.

    \b
    Example:
        gatecast central assign notice --group lang-son --text vi="Cửa khẩu mở 7:00" --text en="Opens 7:00" --as minh
    """
    from central.assign import add_notice

    click.echo(add_notice(db, *target, _texts(texts), kind=kind, level=level, faces=faces,
                          starts_at=starts, expires_at=expires, by=by))


@assign_group.command("remove")
@click.argument("kind", type=click.Choice(["entry", "fallback", "power", "notice"]))
@click.argument("row_id")
@central_db
@acting("edit")
def assign_remove_cmd(kind, row_id, by, settings, db):
    """Remove an assignment (it leaves the screens at the next publish).

    \b
    Example:
        gatecast central assign remove entry c-e-1a2b3c4d --as minh
    """
    from central.assign import remove

    table = {"entry": "schedule_entry", "fallback": "fallback", "power": "power_window",
             "notice": "notice"}[kind]
    remove(db, table, int(row_id) if kind in ("fallback", "power") else row_id, by=by)
    click.echo(_words(N_("removed %(kind)s %(id)s"), kind=kind, id=row_id))


# ---- publishing (central.publication: four eyes) ---------------------------------
# Lines said more than once.
HELD = N_("%(gate)s: held back, keeps its release (%(why)s)")
FACE_PART = N_("face %(face)s %(part)s")


def _words(msgid: str, **params) -> str:
    """A line for people in the province's language: inside a central_db
    command (central.i18n.speaking) Flask-Babel's, else Vietnamese."""
    from flask import has_app_context

    if has_app_context():
        from flask_babel import gettext

        return gettext(msgid, **params)
    from central.i18n import say

    return say(msgid, **params)


def _state(state: str) -> str:
    """A publication request's state in words."""
    from central.checks import REQUEST_STATES

    return _words(REQUEST_STATES.get(state, state))


def _warned(warnings, indent: str = "") -> None:
    """A publication's warnings (what its build leaves out), in words."""
    for warning in warnings:
        click.echo(indent + _words(N_("Warning: %(what)s"), what=in_words(warning)), err=True)


def _said(result) -> None:
    _warned(result.warnings)
    click.echo(_words(N_("repository version %(version)s: %(changed)s gate(s) changed, "
                         "%(unchanged)s unchanged, %(held)s held back"),
                      version=result.repository_version, changed=len(result.changed),
                      unchanged=len(result.unchanged), held=len(result.held)))
    for gate_id, version in sorted(result.changed.items()):
        click.echo("  " + _words(N_("%(gate)s: release %(version)s"), gate=gate_id,
                                 version=version))
    for gate_id, why in sorted(result.held.items()):
        if gate_id in result.held_errors:
            why = in_words(result.held_errors[gate_id])
        click.echo("  " + _words(HELD, gate=gate_id, why=why))


def _said_preview(previews) -> None:
    """What a publication would change, gate by gate and face by face, in the
    console's words (its part names, levels and weekdays)."""
    from central.console.publishing import part_names

    part_words = part_names()
    for p in previews:
        name = f"{p.gate['id']} ({p.gate['name']})" if p.gate["name"] else p.gate["id"]
        now = (_words(N_("release %(version)s in force"), version=p.version) if p.version
               else _words(N_("nothing published yet")))
        if p.held:
            why = in_words(p.held_error) if p.held_error is not None else p.held
            click.echo("  " + _words(HELD, gate=name, why=why))
            continue
        if not p.changes:
            click.echo("  " + _words(N_("%(gate)s: no change (%(now)s)"), gate=name, now=now))
            continue
        click.echo("  " + _words(N_("%(gate)s: changes (%(now)s)"), gate=name, now=now))
        _warned(p.warnings, "    ")
        for face, parts in p.faces.items():
            for part, diff in parts.items():
                for line in diff["removed"]:
                    click.echo(f"    {_words(FACE_PART, face=face, part=part_words.get(part, part))}: - {line}")
                for line in diff["added"]:
                    click.echo(f"    {_words(FACE_PART, face=face, part=part_words.get(part, part))}: + {line}")


def _scope_options(fn):
    fn = click.option("--group", "groups", multiple=True,
                      help="Only this group's gates (repeatable).")(fn)
    return click.option("--gate", "gates", multiple=True,
                        help="Only this gate (repeatable). Neither: every gate.")(fn)


@central.group("publish")
def publish_group():
    """Publish with a second pair of eyes: an editor requests, another approves.

    `publish request` builds what the gates in scope would get, prints what
    changes on each face and records it as a request; `publish approve`, by
    an approver who did not submit it, publishes exactly that. If anything
    changed on those gates since (an edit, someone else's publication), the
    request is out of date: nothing is published and it must be requested
    again. A gate whose content has unapproved media is held back and never
    blocks the others. Emergencies need no approval (`gatecast central
    emergency`).

    \b
    Example:
        gatecast central publish request --group lang-son --note "Tết schedule" --as minh
        gatecast central publish approve 12 --as lan
    """


@publish_group.command("preview")
@_scope_options
@central_db
@repo_errors
def publish_preview_cmd(gates, groups, settings, db):
    """Show what a publication would change on each face; nothing is stored.

    \b
    Example:
        gatecast central publish preview --gate lang-son-huu-nghi
    """
    from central.app import repository_for
    from central.console.wording import words
    from central.publish import preview

    _said_preview(preview(db, repository_for(settings), gates=gates, groups=groups,
                          words=words))


@publish_group.command("request")
@_scope_options
@click.option("--note", default="", help="For the approver (kept with the request).")
@central_db
@acting("edit")
@repo_errors
def publish_request_cmd(gates, groups, note, by, settings, db):
    """Ask for a publication: prints the request id and what changes.

    Only the gates with changes are in the request; held-back gates (media
    not approved yet) keep their release and are named.

    \b
    Example:
        gatecast central publish request --gate lang-son-huu-nghi --note "new opening hours" --as minh
    """
    from central import publication
    from central.app import repository_for
    from central.console.wording import words
    from central.publish import preview

    repo = repository_for(settings)
    previews = preview(db, repo, gates=gates, groups=groups, words=words)
    rid = publication.submit(db, repo, by=by, gates=gates, groups=groups, note=note,
                             previews=previews)
    n = sum(1 for p in previews if p.changes)
    click.echo(_words(N_("request %(id)s: %(count)s gate(s) wait for another approver"),
                      id=rid, count=n))
    _said_preview(previews)
    click.echo(_words(N_("approve it with: %(command)s"),
                      command=f"gatecast central publish approve {rid} --as APPROVER"))


@publish_group.command("list")
@click.option("--only", "state", type=click.Choice(["pending", "published", "rejected", "stale",
                                                    "withdrawn"]),
              help="Only requests in this state (default: all, newest first).")
@click.option("--json", "as_json", is_flag=True)
@central_db
def publish_list_cmd(state, as_json, settings, db):
    """Publication requests, newest first.

    \b
    Example:
        gatecast central publish list --only pending
    """
    from central.publication import listing

    found = listing(db, state)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(_words(N_("No publication requests.")))
    for r in found:
        decided = (_words(N_(", %(state)s by %(name)s at %(at)s"), state=_state(r["state"]),
                          name=r["decided_by"], at=r["decided_at"]) if r["decided_by"] else "")
        click.echo(_words(N_("%(id)s: %(state)s, %(gates)s, from %(name)s at %(at)s"),
                          id=r["id"], state=_state(r["state"]), gates=", ".join(r["gates"]),
                          name=r["submitted_by"], at=r["submitted_at"])
                   + decided + (f": {r['note']}" if r["note"] else ""))


@publish_group.command("show")
@click.argument("request_id", type=int)
@central_db
@repo_errors
def publish_show_cmd(request_id, settings, db):
    """One request; while it waits, what approving it now would change.

    \b
    Example:
        gatecast central publish show 12
    """
    from central.app import repository_for
    from central.console.wording import words
    from central.publication import review

    seen = review(db, repository_for(settings), request_id, words=words)
    r = seen.request
    click.echo(_words(N_("request %(id)s: %(state)s, from %(name)s at %(at)s"), id=r["id"],
                      state=_state(r["state"]), name=r["submitted_by"], at=r["submitted_at"])
               + (f": {r['note']}" if r["note"] else ""))
    if r["decided_by"]:
        click.echo(_words(N_("decided by %(name)s at %(at)s"), name=r["decided_by"],
                          at=r["decided_at"])
                   + (f": {r['decision_reason']}" if r["decision_reason"] else ""))
    if r["state"] != "pending":
        return
    if seen.stale:
        click.echo(_words(N_("out of date: %(gates)s changed since it was submitted; approving "
                             "it would publish nothing"), gates=", ".join(seen.stale)))
    _said_preview([p for p in seen.previews if p.gate["id"] not in seen.stale])


@publish_group.command("approve")
@click.argument("request_id", type=int)
@central_db
@acting("approve")
@repo_errors
def publish_approve_cmd(request_id, by, settings, db):
    """Approve a request: exactly what was requested is published.

    Refused for the request's own submitter (four eyes), and when it is out
    of date (nothing is published; it is marked stale).

    \b
    Example:
        gatecast central publish approve 12 --as lan
    """
    from central.app import repository_for
    from central.feed import feed_for
    from central.publication import approve

    _said(approve(db, repository_for(settings), request_id, by=by, feed=feed_for(settings)))


@publish_group.command("reject")
@click.argument("request_id", type=int)
@click.option("--reason", default="", help="Why (required from an approver; the submitter "
                                           "reads it).")
@central_db
@acting("edit")
def publish_reject_cmd(request_id, reason, by, settings, db):
    """Reject a request (an approver, with --reason), or withdraw your own.

    \b
    Example:
        gatecast central publish reject 12 --reason "wrong opening hours" --as lan
    """
    from central.publication import get, reject

    reject(db, request_id, by=by, reason=reason)
    click.echo(_words(N_("request %(id)s: %(state)s by %(name)s"), id=request_id,
                      state=_state(get(db, request_id)["state"]), name=by))


@central.command("emergency")
@target_options
@click.option("--text", "texts", multiple=True, help="LANG=TEXT, repeatable.")
@click.option("--playlist", help="Playlist to play at emergency level.")
@click.option("--minutes", type=float, default=60, show_default=True,
              help="Ends by itself after this long (at most 24 hours).")
@click.option("--faces", default="")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@central_db
@acting("emergency")
@repo_errors
def emergency_cmd(target, texts, playlist, minutes, faces, reason, by, settings, db):
    """Publish an emergency at once, by itself; it expires by itself.

    Only the emergency is added to its gates' releases in force: nothing
    pending (unapproved media, unpublished edits) on any gate holds it back
    or goes with it.

    \b
    Example:
        gatecast central emergency --group lang-son --text vi="Tạm dừng thông quan" \\
            --minutes 30 --reason "border closed by order 12/UBND" --as lan
    """
    from central.app import repository_for
    from central.feed import feed_for
    from central.publish import publish_emergency

    eid, result = publish_emergency(
        db, repository_for(settings), [target], by=by, reason=reason, minutes=minutes,
        texts=_texts(texts) if texts else None, playlist_id=playlist, faces=faces,
        feed=feed_for(settings))
    click.echo(_words(N_("emergency %(id)s"), id=eid))
    _said(result)


@central.command("emergency-cancel")
@click.argument("emergency_id")
@click.option("--reason", required=True, help="Why it ends early (kept in the audit log).")
@central_db
@acting("emergency")
@repo_errors
def emergency_cancel_cmd(emergency_id, reason, by, settings, db):
    """End an emergency early: its gates get their release without it, at once.

    \b
    Example:
        gatecast central emergency-cancel em-1a2b3c4d5e --reason "border reopened" --as lan
    """
    from central.app import repository_for
    from central.feed import feed_for
    from central.publish import cancel_emergency

    _said(cancel_emergency(db, repository_for(settings), emergency_id, by=by, reason=reason,
                           feed=feed_for(settings)))


# ---- alerts (central.alerts) ------------------------------------------------------------
@central.group("alerts")
def alerts_group():
    """Alerts on gates: list, acknowledge, subscriptions, evaluation.

    \b
    Example:
        gatecast central alerts subscribe --email truc@stttt.langson.gov.vn --group lang-son
        gatecast central alerts list
        gatecast central alerts ack 12 --as lan
    """


@alerts_group.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Resolved alerts too.")
@click.option("--gate", "gate_id", help="Only this gate's.")
@click.option("--json", "as_json", is_flag=True)
@central_db
def list_cmd(include_resolved, gate_id, as_json, settings, db):
    """Open alerts, newest first (with --all, resolved ones after them).

    \b
    Example:
        gatecast central alerts list --all --gate huu-nghi
    """
    from central.alert_messages import KIND_TITLES, describe, local_time
    from central.i18n import say
    from central.alerts import list_alerts

    found = list_alerts(db, include_resolved=include_resolved, gate_id=gate_id)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(say("No alerts."))
        return
    zone = settings["central_timezone"]
    for a in found:
        ack = (say("acknowledged by %(who)s", who=a["acknowledged_by"])
               if a["acknowledged_by"] else "")
        face = f" {say('face')} {a['face_id']}" if a["face_id"] else ""
        click.echo(f"#{a['id']} {a['state']} {a['severity']} {a['gate_name']}{face}: "
                   f"{say(KIND_TITLES.get(a['kind'], a['kind']))} "
                   f"({local_time(a['opened_at'], zone)}) {ack}".rstrip())
        click.echo(f"    {describe(a, zone)}")


@alerts_group.command("ack")
@click.argument("alert_id", type=int)
@central_db
@acting("fleet")
def ack_cmd(alert_id, by, settings, db):
    """Acknowledge an alert: you have seen it and are on it (recorded with your name).

    \b
    Example:
        gatecast central alerts ack 12 --as lan
    """
    from central.alerts import acknowledge

    alert = acknowledge(db, alert_id, by)
    click.echo(_words(N_("alert %(id)s acknowledged by %(name)s at %(at)s"), id=alert_id,
                      name=alert["acknowledged_by"], at=alert["acknowledged_at"]))


@alerts_group.command("subscribe")
@click.option("--email", help="Email address to tell.")
@click.option("--webhook", help="URL to POST JSON to (a chat bridge).")
@click.option("--group", "group_id", help="Only alerts on this group's gates (default: every gate).")
@click.option("--severity", type=click.Choice(["warning", "critical"]), default="warning",
              show_default=True, help="Lowest severity to tell of.")
@central_db
@acting("fleet")
def subscribe_cmd(email, webhook, group_id, severity, by, settings, db):
    """Tell an email address or a webhook of alerts (per group and severity).

    \b
    Example:
        gatecast central alerts subscribe --webhook https://chat.example/hooks/abc --severity critical
    """
    from central.alerts import add_subscription

    if bool(email) == bool(webhook):
        raise click.UsageError("give exactly one of --email ADDRESS or --webhook URL")
    sub_id = add_subscription(db, "email" if email else "webhook", email or webhook,
                              group_id, severity, by=by)
    click.echo(_words(N_("subscription %(id)s"), id=sub_id))


@alerts_group.command("subscriptions")
@central_db
def subscriptions_cmd(settings, db):
    """List who is told of what.

    \b
    Example:
        gatecast central alerts subscriptions
    """
    from central.alerts import list_subscriptions

    for s in list_subscriptions(db):
        click.echo(f"{s['id']}\t{s['channel']}\t{s['address']}\t{s['group_id'] or '*'}\t"
                   f"{s['min_severity']}")


@alerts_group.command("unsubscribe")
@click.argument("sub_id", type=int)
@central_db
@acting("fleet")
def unsubscribe_cmd(sub_id, by, settings, db):
    """Stop telling a subscriber (its waiting messages are dropped).

    \b
    Example:
        gatecast central alerts unsubscribe 3
    """
    from central.alerts import remove_subscription

    remove_subscription(db, sub_id, by=by)
    click.echo(_words(N_("subscription %(id)s removed"), id=sub_id))


@alerts_group.command("run")
@click.option("--once", is_flag=True, help="One evaluation and delivery, then exit.")
@central_db
def run_cmd(once, settings, db):
    """Evaluate the rules and send messages, every central_alert_interval_s.

    The central server already does this in every application server (one at a time,
    under a database lock); run it by hand to check, or where no server runs.

    \b
    Example:
        gatecast central alerts run --once
    """
    from central.alerts import AlertLoop, tick

    if once:
        result = tick(db, settings)
        click.echo("another process is evaluating alerts right now" if result is None
                   else json.dumps(result))
        return
    AlertLoop(db, settings).run()


# ---- reports (central/reports.py) ---------------------------------------------------
@central.group("report")
def report_group():
    """Reports on what the gates showed: plays, airtime, dark and offline time.

    \b
    Example:
        gatecast central report plays --gate huu-nghi --from 2026-11-01 --to 2026-11-30
        gatecast central report monthly --month 2026-11 --format pdf --output bc-11.pdf
    """


def _report_options(fn):
    @click.option("--gate", "gate_id", help="One gate's id (default: every gate).")
    @click.option("--from", "first", required=True, help="First day, YYYY-MM-DD (included).")
    @click.option("--to", "last", required=True, help="Last day, YYYY-MM-DD (included).")
    @click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), default="csv",
                  show_default=True)
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write to this file (default: standard output).")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def _emit(data: bytes, output: Path | None) -> None:
    if output is None:
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
    else:
        output.write_bytes(data)
        from kiosk.web.i18n import N_

        from central.i18n import say

        click.echo(say(N_("Wrote %(file)s (%(size)s bytes)."), file=output, size=len(data)),
                   err=True)


def _table_file(table, fmt: str, as_json) -> bytes:
    from central.report_tables import to_csv, to_json, to_xlsx

    if fmt == "json":
        return to_json(as_json)
    if fmt == "xlsx":
        return to_xlsx([table], table.title)
    return to_csv(table)


@report_group.command("plays")
@_report_options
@click.option("--by", type=click.Choice(["total", "day", "month"]), default="total",
              show_default=True, help="One row per period: the whole range, each day or month.")
@central_db
def report_plays_cmd(gate_id, first, last, fmt, output, by, settings, db):
    """Plays and airtime per gate, face, media and playlist.

    \b
    Example:
        gatecast central report plays --gate huu-nghi --from 2026-11-01 --to 2026-11-30 \\
            --by day --format xlsx --output luot-phat.xlsx
    """
    from central import reports
    from central.report_tables import plays_table

    p = reports.period(first, last)
    rows = reports.plays(db, p, gate_id, by=by)
    _emit(_table_file(plays_table(rows), fmt, {"period": p.as_dict(), "gate": gate_id,
                                               "by": by, "rows": rows}), output)


@report_group.command("uptime")
@_report_options
@central_db
def report_uptime_cmd(gate_id, first, last, fmt, output, settings, db):
    """Per gate and face: airtime, the share of scheduled airtime shown, dark time
    by cause (power schedule, kill switch, outage, error) and offline time.

    \b
    Example:
        gatecast central report uptime --gate huu-nghi --from 2026-11-01 --to 2026-11-30
    """
    from central import reports
    from central.report_tables import uptime_table

    p = reports.period(first, last)
    rows = reports.uptime(db, p, gate_id)
    _emit(_table_file(uptime_table(rows), fmt, {"period": p.as_dict(), "gate": gate_id,
                                                "rows": rows}), output)


@report_group.command("monthly")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "json"]), default="pdf",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write.")
@central_db
def report_monthly_cmd(month, fmt, output, settings, db):
    """The monthly report for the provincial People's Committee (in Vietnamese):
    the province and every gate, with charts.

    \b
    Example:
        gatecast central report monthly --month 2026-11 --format pdf --output bc-2026-11.pdf
    """
    from central import reports
    from central.report_tables import monthly_tables, to_json, to_xlsx

    report = reports.monthly(db, reports.month_period(month))
    if fmt == "json":
        data = to_json(report)
    elif fmt == "xlsx":
        data = to_xlsx(monthly_tables(report), reports.monthly_title(report), charts=True)
    else:
        from central.report_pdf import monthly_pdf

        data = monthly_pdf(report)
    _emit(data, output)
