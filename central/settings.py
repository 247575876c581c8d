"""The central server's settings: one table, like the gate's
(kiosk/settings.py), read by the server, the CLI and docs/central-settings.md
(tests/central/test_central_settings.py fails when one is undocumented).

Precedence, lowest first: the default below, the config file
(`/etc/gatecast/central.toml` or `--config`), `GATECAST_<NAME>` environment
variables, then `--state`. A central host is not a gate: it has its own file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from kiosk.settings import Setting, Settings, read_toml_settings, resolve_settings

DEFAULT_CONFIG_FILE = Path("/etc/gatecast/central.toml")
DEFAULT_STATE_DIR = Path("/var/lib/gatecast-central")

CENTRAL_SETTINGS: tuple[Setting, ...] = (
    # --- server ------------------------------------------------------------------
    Setting("state_dir", "str", str(DEFAULT_STATE_DIR),
            "Folder holding the signed repository (tuf/), its online keys, the content "
            "library, releases, screenshots and, with SQLite, central.db.", "server"),
    Setting("central_bind", "str", "127.0.0.1:8700",
            "HOST:PORT the reference central server listens on (behind nginx in production).",
            "server"),
    Setting("central_workers", "int", 2,
            "gunicorn worker processes of the central server (one per core).", "server"),
    Setting("central_threads", "int", 128,
            "Threads per central worker. A gate waiting on the change notification holds one, "
            "so workers x threads must exceed the gates that long-poll at once.", "server"),
    Setting("central_wait_max_s", "float", 300.0,
            "Longest a change-notification request is held before it answers 204.", "server"),
    Setting("central_feed_publish_url", "str", "",
            "nginx's internal nchan publish location, e.g. 'http://127.0.0.1:8701/feed': after "
            "a publication every changed gate's channel there is told, and nginx answers the "
            "gates' long polls. Empty: the application answers them itself (no nginx: the "
            "demo, a small province).", "server"),
    Setting("central_origin_url", "str", "",
            "The static origin gates read the repository from (e.g. 'https://central.example' "
            "or a CDN): when set with central_feed_publish_url, gates are told only once its "
            "timestamp.json names the new version. Empty: files on this host's disk are the "
            "origin.", "server"),
    Setting("central_max_report_mb", "float", 10.0,
            "Largest report (a combined report, heartbeat, proof-of-play batch or screenshot) "
            "accepted, in MiB.",
            "server"),
    # --- console ------------------------------------------------------------------
    Setting("central_secret_key", "str", "",
            "Key that signs the console's session cookie. Empty: a random key kept in "
            "<state_dir>/central-secret-key. Set the same value on every application server "
            "behind one address.", "console"),
    Setting("central_session_hours", "float", 12.0,
            "A console login ends this many hours after it started (logout, a password or "
            "role change and 'sign out everywhere' end it at once).", "console"),
    Setting("central_login_max_failures", "int", 5,
            "Failed console logins (per user name and per address) before the lockout; from "
            "the third each try waits 2, 4, 8 ... seconds.", "console"),
    Setting("central_lockout_s", "int", 300,
            "How long a user name or address is locked after too many failed logins.",
            "console"),
    Setting("central_secure_cookie", "bool", True,
            "Send the console's cookie only over HTTPS (nginx terminates TLS). False only for "
            "plain-HTTP tests and the demo on localhost.", "console"),
    Setting("central_language", "str", "vi",
            "Language of the console for a user who has not chosen one: vi or en.", "console"),
    # --- store --------------------------------------------------------------------
    Setting("central_database_url", "str", "",
            "Where central keeps its data, as an SQLAlchemy URL: empty for SQLite at "
            "<state_dir>/central.db (a small province, the demo), or PostgreSQL, e.g. "
            "'postgresql://gatecast@/gatecast?host=/run/postgresql' (production, several "
            "application servers).", "store"),
    Setting("central_database_pool_size", "int", 5,
            "Database connections each server process keeps open; up to 4x as many more "
            "are opened under load and closed again.", "store"),
    Setting("central_heartbeat_history_days", "float", 30.0,
            "Days of heartbeat history kept (the latest heartbeat of each gate is always kept).",
            "store"),
    Setting("central_play_retention_days", "float", 400.0,
            "Days raw proof-of-play rows are kept after they arrive; older ones are folded "
            "into daily totals per gate, face, media and outcome (kept for good) and deleted. "
            "0 keeps raw rows forever.", "store"),
    Setting("central_timezone", "str", "Asia/Ho_Chi_Minh",
            "The province's wall-clock time zone: reports count days and periods in it. "
            "Set it once: totals already counted keep the days they were counted in. The "
            "console shows times in it to users who have not chosen their own zone.",
            "store"),
    # --- fleet and publishing -------------------------------------------------------
    Setting("central_heartbeat_interval_s", "float", 60.0,
            "Heartbeat interval the gates use; the overview calls a gate offline after 2.5 "
            "intervals without one.", "fleet"),
    Setting("central_gate_token_cache_s", "float", 10.0,
            "How long an app server process takes a gate token it found good without "
            "looking the gate up again (heartbeats, proof of play, the feed's check); a "
            "reissued token stops working within this many seconds in other processes "
            "(at once in the one that reissued it). 0: look up every time.", "fleet"),
    Setting("central_online_expiry_days", "float", 7.0,
            "Lifetime of the online-signed metadata (timestamp, snapshot, publisher); the "
            "server re-signs it at half-life.", "fleet"),
    Setting("central_offline_expiry_days", "float", 365.0,
            "Lifetime of root and targets metadata, signed with the offline keys: rotate "
            "or re-sign before it ends.", "fleet"),
    # --- alerts -------------------------------------------------------------------
    Setting("central_alert_interval_s", "float", 5.0,
            "How often the alert rules are evaluated and waiting messages sent. Every "
            "application server ticks; only the one holding the database's alert lock works "
            "in a tick.", "alerts"),
    Setting("central_alert_clear_after_s", "float", 120.0,
            "An alert is resolved (and the recovery message sent) only after its condition "
            "has stayed clear this long, so a flapping gate sends no storm of messages.",
            "alerts"),
    Setting("central_alert_temp_c", "float", 80.0,
            "CPU temperature (degrees C) above which a gate's controller raises an alert.",
            "alerts"),
    Setting("central_alert_disk_free_mb", "float", 500.0,
            "Free space (MB) in a gate's state folder below which an alert is raised.",
            "alerts"),
    Setting("central_alert_sync_failing_s", "float", 3600.0,
            "A gate whose sync has failed for this long, or which has kept playing its "
            "last-known-good release instead of a newer one it was offered for this long, "
            "raises an alert.", "alerts"),
    Setting("central_alert_release_not_taken_s", "float", 1800.0,
            "A release published this long ago that the gate still does not play raises an "
            "alert.", "alerts"),
    Setting("central_alert_dark_after_s", "float", 300.0,
            "A face that should show content (powered on, not blanked) whose screenshot has "
            "been black for this long raises an alert.", "alerts"),
    Setting("central_alert_dark_luma", "float", 8.0,
            "A screenshot whose mean brightness (0-255) is below this counts as black.",
            "alerts"),
    Setting("central_alert_frozen_after_s", "float", 1800.0,
            "A face whose picture has not changed for this long while its gate reported "
            "playing at least two different media on it raises an alert (frozen picture).",
            "alerts"),
    Setting("central_alert_retry_max_s", "float", 900.0,
            "Longest pause between two attempts at delivering an alert message (the pause "
            "doubles from 15 s).", "alerts"),
    Setting("central_alert_give_up_h", "float", 72.0,
            "A message not delivered after this many hours is marked failed (and shown so in "
            "the console) instead of being retried.", "alerts"),
    Setting("central_smtp_host", "str", "",
            "SMTP server alert emails are sent through; empty: no email.", "alerts"),
    Setting("central_smtp_port", "int", 587,
            "Port of the SMTP server (587 submission with STARTTLS; 25 plain).", "alerts"),
    Setting("central_smtp_starttls", "bool", True,
            "Upgrade the SMTP connection with STARTTLS (certificate checked) before sending.",
            "alerts"),
    Setting("central_smtp_ca_file", "str", "",
            "CA certificate(s) (PEM) the SMTP server's certificate is checked against, e.g. "
            "the province's own CA; empty: the system's.", "alerts"),
    Setting("central_smtp_user", "str", "",
            "User name to log in to the SMTP server with; empty: no login.", "alerts"),
    Setting("central_smtp_password_file", "str", "",
            "File holding the SMTP password (one line, readable only by the service; never "
            "put the password itself in central.toml or in git).", "alerts"),
    Setting("central_smtp_from", "str", "gatecast@localhost",
            "Sender address of alert emails.", "alerts"),
    Setting("central_alert_timeout_s", "float", 20.0,
            "Longest wait for the SMTP server or a webhook receiver per message.", "alerts"),
    Setting("central_console_url", "str", "",
            "The console's public address (e.g. 'https://trungtam.example'); alert messages "
            "link to its alert list when set.", "alerts"),
    # --- library ------------------------------------------------------------------
    Setting("media_max_mb", "int", 1024,
            "Largest video or image the content library accepts.", "library"),
    Setting("media_max_pixels", "int", 40000000,
            "Largest image or video frame (width x height) the library accepts.", "library"),
    Setting("media_max_duration_s", "float", 14400.0,
            "Longest video the library accepts.", "library"),
    # --- console ------------------------------------------------------------------
    Setting("central_map_tile_url", "str", "",
            "Optional map tile server for the fleet map, as https://HOST/PATH/{z}/{x}/{y}.png "
            "(Web Mercator tiles). Empty: the map draws only the outline of Viet Nam and its "
            "neighbours shipped with the app, so it works without internet. When set, the "
            "console's content security policy allows images from that host only.", "console"),
)

CENTRAL_SETTINGS_BY_NAME = {s.name: s for s in CENTRAL_SETTINGS}


def read_config_file(path: Path | None) -> dict[str, Any]:
    """Read central's TOML config (flat keys or a [central] table)."""
    return read_toml_settings(path, default_path=DEFAULT_CONFIG_FILE, table="central",
                              known=CENTRAL_SETTINGS_BY_NAME, noun="central setting(s)")


def load_central_settings(config_file: Path | None = None, state_dir: Path | None = None,
                          env: Mapping[str, str] | None = None) -> Settings:
    """Resolve every central setting. `state_dir` (the --state option) beats everything."""
    env = os.environ if env is None else env
    return resolve_settings(CENTRAL_SETTINGS, read_config_file(config_file), env, state_dir)
