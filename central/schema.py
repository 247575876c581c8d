"""The central server's tables, in one SQLAlchemy MetaData, the same on
SQLite and PostgreSQL. Queries are written in SQLAlchemy Core against these;
migrations (central/migrations) change the database to match.

Instants are ISO 8601 text (kiosk.store.iso), JSON lists and objects are
text: the release documents are built from them as they are, on both stores.
Counters that grow with the fleet (heartbeats, audit, proof of play row ids,
media sizes) are 64-bit on PostgreSQL; on SQLite every INTEGER is.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)

# SQLite only makes `INTEGER PRIMARY KEY` an auto-numbered rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()


def _target_index(table: str) -> Index:
    return Index(f"{table}_target", "target_kind", "target_id")


# People who manage content (central/users.py): role viewer | editor |
# approver | operator | admin. token_hash: sha256 of a random API token shown
# once (scripts, the CLI); password_hash: werkzeug scrypt (the console).
# epoch: bumped by a password or role change, ending every console session.
user = Table(
    "user", metadata,
    Column("name", Text, primary_key=True),
    Column("role", Text, nullable=False),
    Column("token_hash", Text),
    Column("created_at", Text),
    Column("password_hash", Text),
    Column("disabled", Integer, nullable=False, server_default="0"),
    Column("epoch", Integer, nullable=False, server_default="0"),
    Column("language", Text),
    Column("timezone", Text),
    Column("must_change_password", Integer, nullable=False, server_default="0"),
    Column("created_by", Text),
    Column("last_login_at", Text),
)

# The console's logins (central/console): id is the sha256 of the cookie's token.
console_session = Table(
    "console_session", metadata,
    Column("id", Text, primary_key=True),
    Column("user_name", Text, nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_seen_at", Text),
    Column("expires_at", Text, nullable=False),
    Column("revoked_at", Text),
    Column("client", Text),
    Column("user_agent", Text),
    Index("console_session_user", "user_name"),
)

# Failed console logins per "user:<name>" and "ip:<address>" (the throttle).
login_failure = Table(
    "login_failure", metadata,
    Column("key", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_at", Text),
    Column("locked_until", Text),
)

# The content library. state: uploaded -> approved | rejected; -> retired.
# valid_from/valid_until: dates (YYYY-MM-DD) outside which it is not shown.
media = Table(
    "media", metadata,
    Column("sha256", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("format", Text),
    Column("size", BigInteger, nullable=False),
    Column("duration_s", Float),
    Column("width", Integer),
    Column("height", Integer),
    Column("state", Text, nullable=False),
    Column("uploaded_at", Text),
    Column("uploaded_by", Text),
    Column("approved_at", Text),
    Column("approved_by", Text),
    Column("retired_at", Text),
    Column("retired_by", Text),
    Column("language", Text),
    Column("valid_from", Text),
    Column("valid_until", Text),
    Column("rejected_at", Text),
    Column("rejected_by", Text),
    Column("reject_reason", Text),
)

# faces: JSON list of face ids (1..4). token_hash: sha256 of the gate's API
# token (high-entropy random, so a fast hash is enough).
gate = Table(
    "gate", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("province", Text),
    Column("faces", Text, nullable=False),
    Column("token_hash", Text),
    Column("token_issued_at", Text),
    Column("created_at", Text),
    # Where the gate stands on the fleet map (WGS 84 degrees; NULL: not placed).
    Column("latitude", Float),
    Column("longitude", Float),
    # gate_token_clock's version when the token was last issued or changed
    # (central.gate_tokens.next_version): token memories read only newer gates.
    Column("token_version", BigInteger, nullable=False, server_default="0"),
    Index("gate_token_version", "token_version"),
)

# One row (id 1): the last token version handed out. A writer takes its row lock
# (central.gate_tokens.next_version), so versions commit in the order they are
# numbered and a reader's highest seen version is a safe watermark.
gate_token_clock = Table(
    "gate_token_clock", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# Central's kill switch per gate (central/killswitch.py), carried by every
# release of the gate as its `blank` field. active 0: released (who released
# it and why stay here and in the gate's event log). faces: JSON list, [] =
# every face.
gate_blank = Table(
    "gate_blank", metadata,
    Column("gate_id", Text, primary_key=True),
    Column("active", Integer, nullable=False),
    Column("faces", Text, nullable=False),
    Column("by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", Text, nullable=False),
)

gate_group = Table(
    "gate_group", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text),
    Column("created_at", Text),
)

gate_group_member = Table(
    "gate_group_member", metadata,
    Column("group_id", Text, ForeignKey("gate_group.id"), primary_key=True),
    Column("gate_id", Text, ForeignKey("gate.id"), primary_key=True),
)

playlist = Table(
    "playlist", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", Text),
)

playlist_item = Table(
    "playlist_item", metadata,
    Column("playlist_id", Text, ForeignKey("playlist.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("media_sha256", Text, ForeignKey("media.sha256")),
    Column("duration_s", Float),
)

# Assignments: each row is for one gate or one group (target_kind/target_id).
# faces: JSON list; [] means every face of the gate.
schedule_entry = Table(
    "schedule_entry", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text),
    Column("target_kind", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("playlist_id", Text, ForeignKey("playlist.id"), nullable=False),
    Column("faces", Text, nullable=False),
    Column("start_date", Text),
    Column("end_date", Text),
    Column("weekdays", Text, nullable=False),
    Column("start_time", Text, nullable=False),
    Column("end_time", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("not_before", Text),
    Column("not_after", Text),
    Column("created_at", Text),
    Column("created_by", Text),
    _target_index("schedule_entry"),
)

# face_id NULL: every face of the gate.
fallback = Table(
    "fallback", metadata,
    Column("id", BigId, primary_key=True),
    Column("target_kind", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("face_id", Integer),
    Column("playlist_id", Text, ForeignKey("playlist.id"), nullable=False),
    _target_index("fallback"),
)

power_window = Table(
    "power_window", metadata,
    Column("id", BigId, primary_key=True),
    Column("target_kind", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("face_id", Integer),
    Column("weekdays", Text, nullable=False),
    Column("start_time", Text, nullable=False),
    Column("end_time", Text, nullable=False),
    _target_index("power_window"),
)

notice = Table(
    "notice", metadata,
    Column("id", Text, primary_key=True),
    Column("target_kind", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("texts", Text, nullable=False),
    Column("faces", Text),
    Column("style", Text),
    Column("starts_at", Text),
    Column("expires_at", Text),
    Column("created_at", Text),
    Column("created_by", Text),
    _target_index("notice"),
)

# Every release ever published for a gate; the highest version is current.
# content_sha256 hashes the document without version/published_at, so an
# unchanged gate keeps its version across publishes.
release = Table(
    "release", metadata,
    Column("gate_id", Text, primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("content_sha256", Text),
    Column("published_at", Text),
    Column("publication_id", BigInteger),
    Column("document", Text),
)

publication = Table(
    "publication", metadata,
    Column("id", BigId, primary_key=True),
    Column("at", Text),
    Column("by", Text),
    Column("repository_version", BigInteger),
    Column("gates_changed", Integer),
    Column("note", Text),
)

# An emergency: published by itself, layered onto each target gate's release
# in force (central/publish.py), never waiting behind a full publish. targets:
# JSON [{"kind": "gate"|"group", "id": ...}] as asked; gates: the gate ids they
# named when it was made; faces: JSON list ([] = every face); texts: JSON
# {lang: text}. Ends by itself at ends_at, or earlier when cancelled.
emergency = Table(
    "emergency", metadata,
    Column("id", Text, primary_key=True),
    Column("targets", Text, nullable=False),
    Column("gates", Text, nullable=False),
    Column("faces", Text, nullable=False),
    Column("texts", Text, nullable=False),
    Column("playlist_id", Text, ForeignKey("playlist.id")),
    Column("starts_at", Text, nullable=False),
    Column("ends_at", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("publication_id", BigInteger),
    Column("cancelled_at", Text),
    Column("cancelled_by", Text),
    Column("cancel_reason", Text),
    Index("emergency_ends", "ends_at"),
)

# A publication waiting for a second pair of eyes (four-eyes): submitted with
# its scope and what it would ship to each gate (preview: JSON {gate_id:
# {"base": release version in force or null, "content": sha256 of the built
# document}}); an approver who is not the submitter approves it and it
# publishes exactly that, or it is refused as stale. state: pending |
# published | rejected | stale | withdrawn.
publication_request = Table(
    "publication_request", metadata,
    Column("id", BigId, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("note", Text),
    Column("preview", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("submitted_by", Text, nullable=False),
    Column("submitted_at", Text, nullable=False),
    Column("decided_by", Text),
    Column("decided_at", Text),
    Column("decision_reason", Text),
    Column("publication_id", BigInteger),
    Index("publication_request_state", "state"),
)

# Reports from gates. gate_status holds the latest heartbeat per gate;
# heartbeat keeps the history (the console's "effectiveness analysis").
# PostgreSQL's housekeeping of these report tables (migration 0016, which gives the
# reasons and the measurements): the autovacuum storage parameters are in each
# table's postgresql_with, and a column no query filters on says
# info={"postgresql_statistics": 0} (ALTER COLUMN ... SET STATISTICS 0: ANALYZE
# skips it). tests/central/test_central_pg_autovacuum.py holds the database to both.
NO_STATISTICS = {"postgresql_statistics": 0}
gate_status = Table(
    "gate_status", metadata,
    Column("gate_id", Text, primary_key=True),
    Column("last_heartbeat_at", Text),
    Column("sent_at", Text),
    Column("release_version", BigInteger),
    Column("last_good_release_version", BigInteger),
    Column("heartbeat", Text, info=NO_STATISTICS),
    # What the alert rules read of it (central.alert_rules.heartbeat_view, as JSON),
    # written by intake; NULL: worked out from `heartbeat` (migration 0015). Another
    # writer of `heartbeat` that leaves this as it was gets it cleared by the stamp
    # trigger (0018); one that stamps `changed` itself, as intake, writes this too.
    Column("alert_view", Text, info=NO_STATISTICS),
    # Stamped on every write (intake, else a trigger: migrations 0010, 0015): the alert
    # loop reads only the rows changed since its last tick (central.alerts).
    Column("changed", BigInteger, nullable=False, server_default="0"),
    # SQLite only: its stamp is the highest plus one. On PostgreSQL an index on a
    # column every report changes kept each update from being heap-only (0015).
    Index("gate_status_changed", "changed").ddl_if(dialect="sqlite"),
    # Room on the page for both rows' next versions: a report's update is heap-only.
    # Analyzed once every gate has reported 60 times (0016).
    postgresql_with={"fillfactor": 50, "autovacuum_analyze_scale_factor": 60},
)

heartbeat = Table(
    "heartbeat", metadata,
    Column("id", BigId, primary_key=True),
    Column("gate_id", Text),
    Column("received_at", Text),
    Column("sent_at", Text),
    Column("release_version", BigInteger),
    Column("body", Text, info=NO_STATISTICS),
    Index("heartbeat_gate", "gate_id", "received_at"),
    # prune_heartbeats (migration 0015); BRIN: the history is appended in time order.
    Index("heartbeat_received", "received_at", postgresql_using="brin",
          postgresql_with={"autosummarize": "on"}),
    # A heartbeat is stored once (migration 0017): the gate sends it again after a
    # lost answer, and its sent_at (milliseconds) tells it from the gate's others.
    Index("heartbeat_sent", "gate_id", "sent_at", unique=True),
    # Append-only: analyzed and vacuumed per 100,000 new rows, throttled (0016).
    postgresql_with={"autovacuum_analyze_threshold": 100_000,
                     "autovacuum_vacuum_insert_threshold": 100_000,
                     "autovacuum_vacuum_cost_delay": 20},
)

proof_of_play = Table(
    "proof_of_play", metadata,
    Column("gate_id", Text, primary_key=True),
    # The gate database's random id (kiosk.sync.schema): row ids restart at 1 when a
    # gate is reinstalled. '' for rows from before it was sent.
    Column("installation", Text, primary_key=True, server_default=""),
    Column("row_id", BigInteger, primary_key=True),
    Column("face_id", Integer),
    Column("media_sha256", Text),
    Column("entry_id", Text, info=NO_STATISTICS),
    Column("level", Text, info=NO_STATISTICS),
    Column("started_at", Text),
    Column("ended_at", Text, info=NO_STATISTICS),
    Column("outcome", Text),
    Column("reason", Text, info=NO_STATISTICS),
    Column("batch_id", Text, info=NO_STATISTICS),
    Column("received_at", Text),
    Index("proof_of_play_received", "received_at"),
    # Append-only, 12 rows a gate-minute: per 1,000,000 new rows, throttled (0016).
    postgresql_with={"autovacuum_analyze_threshold": 1_000_000,
                     "autovacuum_vacuum_insert_threshold": 1_000_000,
                     "autovacuum_vacuum_cost_delay": 20},
)

# Raw proof of play is pruned after central_play_retention_days; its totals per
# gate, UTC day (of started_at), face, media and outcome are kept here for good.
proof_of_play_daily = Table(
    "proof_of_play_daily", metadata,
    Column("gate_id", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("face_id", Integer, primary_key=True),
    Column("media_sha256", Text, primary_key=True),
    Column("outcome", Text, primary_key=True),
    Column("plays", BigInteger, nullable=False),
    Column("airtime_s", Float, nullable=False),
)

# Report totals (central/reports.py), kept at intake and for good: proof of play per
# gate, day (in central_timezone), face, media, schedule entry ('' for none) and
# outcome, each row counted once when it first arrives.
play_day = Table(
    "play_day", metadata,
    Column("day", Text, primary_key=True),
    Column("gate_id", Text, primary_key=True),
    Column("face_id", Integer, primary_key=True),
    Column("media_sha256", Text, primary_key=True),
    Column("entry_id", Text, primary_key=True),
    Column("outcome", Text, primary_key=True),
    Column("plays", BigInteger, nullable=False),
    Column("airtime_s", Float, nullable=False),
    # Room for today's row's next version on its page (migration 0014); analyzed
    # after five times its rows were written (0016).
    postgresql_with={"fillfactor": 70, "autovacuum_analyze_scale_factor": 5},
)

# Seconds per gate, day, face and state, from the gaps between heartbeats. Faces:
# shown | power_schedule | kill_switch | error | outage; face_id 0 is the gate's link
# to central: online | offline.
face_time_day = Table(
    "face_time_day", metadata,
    Column("day", Text, primary_key=True),
    Column("gate_id", Text, primary_key=True),
    Column("face_id", Integer, primary_key=True),
    Column("state", Text, primary_key=True),
    Column("seconds", Float, nullable=False),
    postgresql_with={"fillfactor": 70, "autovacuum_analyze_scale_factor": 5},  # as play_day
)

screenshot = Table(
    "screenshot", metadata,
    Column("gate_id", Text, primary_key=True),
    Column("face_id", Integer, primary_key=True),
    Column("taken_at", Text),
    Column("received_at", Text),
    Column("file", Text),
    Column("content_type", Text),
    Column("size", Integer),
    # What the alerts read (central.alert_rules.picture_facts): mean brightness 0-255,
    # the decoded picture's sha256, and since when the picture has been that one.
    Column("luma", Float),
    Column("picture_sha256", Text),
    Column("picture_changed_at", Text),
    # Stamped by the database on every write (a trigger, migration 0011): the alert
    # loop reads only the screenshots changed since its last tick (central.alerts).
    Column("changed", BigInteger, nullable=False, server_default="0"),
    Index("screenshot_changed", "changed"),
)

# Who changed what, for the province's own accountability.
audit = Table(
    "audit", metadata,
    Column("id", BigId, primary_key=True),
    Column("at", Text),
    Column("who", Text),
    Column("action", Text),
    Column("subject", Text),
    Column("detail", Text),
    # The Audit log page's filters (central.users.find_audit), newest first.
    Index("audit_at", "at", "id"),
    Index("audit_who", "who", "at"),
    Index("audit_action", "action", "at"),
)


# Alerts (central/alerts.py). One row per episode of a condition on a gate (face 0:
# the whole gate): pending while the condition has not yet lasted long enough, open once
# told, resolved when it has cleared for long enough. At most one unresolved row per
# gate, kind and face (the partial unique index), so a flapping gate never opens a
# second one. detail: JSON of the values the messages quote.
alert = Table(
    "alert", metadata,
    Column("id", BigId, primary_key=True),
    Column("gate_id", Text, ForeignKey("gate.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("face_id", Integer, nullable=False, server_default="0"),
    Column("severity", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("first_seen_at", Text, nullable=False),
    Column("opened_at", Text),
    Column("clear_since", Text),
    Column("resolved_at", Text),
    Column("detail", Text),
    Column("acknowledged_at", Text),
    Column("acknowledged_by", Text),
    Index("alert_unresolved", "gate_id", "kind", "face_id", unique=True,
          sqlite_where=Column("state") != "resolved",
          postgresql_where=Column("state") != "resolved"),
    Index("alert_state", "state", "opened_at"),
)

# Who is told: an email address or a webhook URL, for one group of gates (NULL: every
# gate), for alerts of at least min_severity (warning | critical).
alert_subscription = Table(
    "alert_subscription", metadata,
    Column("id", BigId, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("group_id", Text, ForeignKey("gate_group.id")),
    Column("min_severity", Text, nullable=False),
    Column("created_at", Text),
    Column("created_by", Text),
)

# The outbox: one message per alert, subscription and event (opened | resolved), kept
# until it is delivered (state pending -> sent, or failed after giving up), retried
# with a growing pause. The unique key means a message is queued once.
alert_delivery = Table(
    "alert_delivery", metadata,
    Column("id", BigId, primary_key=True),
    Column("alert_id", BigInteger, ForeignKey("alert.id"), nullable=False),
    Column("subscription_id", BigInteger, ForeignKey("alert_subscription.id", ondelete="CASCADE"),
           nullable=False),
    Column("event", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("queued_at", Text, nullable=False),
    Column("next_attempt_at", Text, nullable=False),
    Column("sent_at", Text),
    Column("last_error", Text),
    Index("alert_delivery_once", "alert_id", "subscription_id", "event", unique=True),
    Index("alert_delivery_due", "state", "next_attempt_at"),
)
