"""`gatecast admin`: serve the admin with gunicorn, and create accounts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kiosk.cliutil import state_options

from admin import tls


def _split_bind(bind: str) -> str:
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"expected HOST:PORT, got {bind!r}", param_hint="--bind")
    return bind


@click.group("admin", invoke_without_command=True)
@click.option("--bind", help="HOST:PORT to listen on. Default: the admin_bind setting (127.0.0.1:8080).")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True,
              help="gunicorn worker processes.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Threads per worker.")
@click.option("--control-socket/--no-control-socket", default=False, show_default=True,
              help="gunicorn 27's control socket (shared per user: off by default).")
@state_options
@click.pass_context
def admin_group(ctx, bind, workers, threads, control_socket, ctx_):
    """Serve the local admin with gunicorn (when no subcommand is given).

    The admin refuses every request until the first account exists: create it
    in the browser's first-run page or with `gatecast admin create-user`.

    \b
    Example:
        gatecast admin --state ./demo-state --bind 127.0.0.1:8080
        gatecast admin create-user --username chief --role admin < password.txt
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = ctx_
        return
    ctx_.db  # noqa: B018 - migrate (and fail here, clearly) before forking workers
    settings = ctx_.settings
    bind = _split_bind(bind or settings["admin_bind"])
    cert = None
    if tls.tls_wanted(settings["admin_tls"], bind):
        cert = _certificate(settings)
        _ = _words(settings)
        # On the console (the journal on a gate): what the browser must show.
        click.echo(_("Admin HTTPS certificate %(path)s (%(source)s), SHA-256 fingerprint "
                     "%(fingerprint)s", path=cert.cert, source=_source(cert, _),
                     fingerprint=cert.fingerprint))
    redirect = settings["admin_http_redirect_bind"] if cert else ""
    serve(settings.state_path, bind, workers=workers, threads=threads,
          control_socket=control_socket, config_file=ctx.params.get("config_file"),
          cert=cert, redirect_bind=_split_bind(redirect) if redirect else "")


@admin_group.command("cert")
@state_options
def cert_cmd(ctx_):
    """Show the admin's HTTPS certificate and its SHA-256 fingerprint.

    Compare the fingerprint with the one the browser shows for the admin
    before trusting a certificate made on this controller. Makes one if none
    exists yet (as the admin does at its first start).

    \b
    Example:
        gatecast admin cert --state /var/lib/gatecast
    """
    here = click.get_current_context()
    if here.params.get("state_dir") is None and here.params.get("config_file") is None and here.obj:
        ctx_ = here.obj
    ctx_.db  # noqa: B018 - refuse a mistyped --state like every command
    c = _certificate(ctx_.settings)
    _ = _words(ctx_.settings)
    click.echo(_("Certificate: %(path)s", path=c.cert))
    click.echo(_("Source: %(source)s", source=_source(c, _)))
    click.echo(_("Subject: %(subject)s", subject=c.subject))
    click.echo(_("Valid until: %(day)s", day=c.not_after.strftime("%d/%m/%Y")))
    click.echo(_("SHA-256 fingerprint: %(fingerprint)s", fingerprint=c.fingerprint))


def _words(settings):
    """What a technician reads here, in the gate's language (Vietnamese first)."""
    from admin.i18n import cli_gettext

    return cli_gettext(settings)


def _source(c: "tls.Certificate", _) -> str:
    return _("made on this controller (self-signed)") if c.generated else _("installed (province)")


def _certificate(settings) -> "tls.Certificate":
    try:
        return tls.certificate(settings)
    except tls.CertificateError as e:
        _ = _words(settings)
        raise click.ClickException(_(
            "%(problem)s: replace it (admin_tls_cert, admin_tls_key) or remove both files to "
            "use a certificate made on this controller", problem=e.say(_))) from None


def serve(state_dir: Path, bind: str, *, workers: int = 2, threads: int = 4,
          control_socket: bool = False, config_file: Path | None = None,
          cert: "tls.Certificate | None" = None, redirect_bind: str = "") -> None:
    """Run gunicorn in this process until it is stopped (SIGTERM/SIGINT);
    HTTPS with `cert`, and a plain-HTTP redirect listener on `redirect_bind`."""
    from gunicorn.app.base import BaseApplication

    os.environ["GATECAST_STATE_DIR"] = str(state_dir)
    if config_file:
        os.environ["GATECAST_CONFIG"] = str(config_file)

    def when_ready(server):
        if not redirect_bind:
            return
        port = server.LISTENERS[0].sock.getsockname()[1]
        redirector = tls.start_redirect(redirect_bind, port)
        server.log.info("Redirecting http://%s:%d to HTTPS port %d", redirect_bind.rpartition(":")[0],
                        redirector.server_address[1], port)

    class AdminServer(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", [bind])
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)  # large uploads to an SD card are slow
            self.cfg.set("accesslog", "-")
            self.cfg.set("proc_name", "gatecast-admin")
            self.cfg.set("control_socket_disable", not control_socket)
            if cert is not None:
                self.cfg.set("certfile", str(cert.cert))
                self.cfg.set("keyfile", str(cert.key))
                self.cfg.set("when_ready", when_ready)

        def load(self):
            from admin import create_app

            return create_app({"STATE_DIR": str(state_dir), "ADMIN_TLS": cert is not None})

    AdminServer().run()


def _read_password(password_file: Path | None) -> str:
    if password_file is not None:
        text = password_file.read_text(encoding="utf-8")
    elif sys.stdin.isatty():
        text = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        text = sys.stdin.read()
    # One trailing newline is how files and `echo` end; anything else is the password.
    return text[:-1] if text.endswith("\n") else text


@admin_group.command("create-user")
@click.option("--username", required=True, help="The account's user name.")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), default=None,
              help="viewer: read only; operator: power, schedules, notices, "
              "kill switch; admin: also users and settings. Default: admin for a new "
              "account; with --reset-password the account keeps its role.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the password from this file (else from stdin, or a prompt on a terminal).")
@click.option("--language", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--exists-ok", is_flag=True,
              help="Succeed without changes when the user exists (for Ansible's idempotence).")
@click.option("--reset-password", is_flag=True,
              help="Set a new password (and role) on an existing user instead of failing.")
@state_options
def create_user_cmd(username, role, password_file, language, exists_ok, reset_password, ctx_):
    """Create an admin account. There is no default account or password.

    The password comes from --password-file or stdin, never from the command
    line (where other users could read it in the process list).

    \b
    Example:
        printf '%s\\n' "$PASSWORD" | gatecast admin create-user --username chief --role admin
        gatecast admin create-user --state /var/lib/gatecast --username an --role operator \\
            --password-file /root/an.pw
    """
    from admin.services import Actor, AdminError
    from admin.services import users as user_service

    # --state/--config may be given to `gatecast admin` or to `create-user`.
    here = click.get_current_context()
    if here.params.get("state_dir") is None and here.params.get("config_file") is None and here.obj:
        ctx_ = here.obj
    db = ctx_.db
    actor = Actor("cli:" + os.environ.get("USER", "root"), "admin", "localhost")
    existing = user_service.by_name(db, username)
    if existing and exists_ok and not reset_password:
        click.echo(f"user {existing['username']} exists; nothing changed")
        return
    try:
        password = _read_password(password_file)
        if existing and reset_password:
            # Without --role the account keeps its role: resetting an operator's
            # forgotten password must not make them an admin.
            role = role or existing["role"]
            user_service.update_user(db, existing["id"], actor, role=role, password=password,
                                     disabled=False)
            click.echo(f"user {existing['username']}: password reset, role {role}")
            return
        user = user_service.create_user(db, username, password, role or "admin", actor, language)
    except (AdminError, OSError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"created user {user['username']} with role {user['role']}")
