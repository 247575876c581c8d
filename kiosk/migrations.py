"""Core schema of the gate database (the hub). docs/data-model.md explains it.

Desired state (written by admin and sync, read by the player): setting, media,
playlist, playlist_item, schedule_entry, face_fallback, power_window,
power_override, blank, notice, central_blank. Writes to them bump `revision.n`.
Actual state (written by the player): face_state, state, event, proof_of_play.

Never edit a migration that has shipped; add a new one.
"""

from sqlite_utils.migrations import Migrations

migrations = Migrations("gatecast.core")

DESIRED_TABLES = (
    "setting",
    "media",
    "playlist",
    "playlist_item",
    "schedule_entry",
    "face_fallback",
    "power_window",
    "power_override",
    "blank",
    "notice",
)


@migrations()
def m001_core(db):
    from kiosk.store import track_desired

    db.execute("CREATE TABLE revision (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)")
    db.execute("INSERT INTO revision (id, n) VALUES (1, 0)")

    # Values an admin saved over the config file; value is JSON.
    db["setting"].create(
        {"name": str, "value": str, "updated_at": str, "updated_by": str}, pk="name"
    )
    # Content-addressed media. kind: video | image | text. For text slides the
    # media file is a JSON spec (see kiosk/text) and its sha256 names it too.
    db["media"].create(
        {
            "sha256": str,
            "kind": str,
            "name": str,
            "format": str,
            "size": int,
            "duration_s": float,  # videos: probed; images/text: default hold time
            "width": int,
            "height": int,
            "source": str,  # central | local
            "approved": int,
            "created_at": str,
        },
        pk="sha256",
        not_null={"kind", "name", "size", "source"},
        defaults={"source": "local", "approved": 1},
    )
    db["playlist"].create(
        {"id": str, "name": str, "source": str, "created_at": str},
        pk="id",
        not_null={"name", "source"},
        defaults={"source": "local"},
    )
    db["playlist_item"].create(
        {"playlist_id": str, "position": int, "media_sha256": str, "duration_s": float},
        pk=("playlist_id", "position"),
        foreign_keys=[("playlist_id", "playlist", "id"), ("media_sha256", "media", "sha256")],
    )
    db.execute(
        "CREATE INDEX playlist_item_media ON playlist_item(media_sha256)"
    )
    # A schedule entry plays a playlist on faces. Dates are local 'YYYY-MM-DD'
    # (inclusive, NULL = open); weekdays a JSON list of 0=Monday..6=Sunday;
    # times local 'HH:MM' (start inclusive, end exclusive; end <= start means
    # the window runs overnight and belongs to its start day; equal = all day).
    db["schedule_entry"].create(
        {
            "id": str,
            "name": str,
            "playlist_id": str,
            "faces": str,
            "start_date": str,
            "end_date": str,
            "weekdays": str,
            "start_time": str,
            "end_time": str,
            "level": str,  # emergency | priority | normal
            "source": str,
            "enabled": int,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("playlist_id", "playlist", "id")],
        not_null={"playlist_id", "faces", "weekdays", "start_time", "end_time", "level"},
        defaults={"source": "local", "enabled": 1, "weekdays": "[0,1,2,3,4,5,6]"},
    )
    db["face_fallback"].create(
        {"face_id": int, "playlist_id": str, "source": str},
        pk="face_id",
        foreign_keys=[("playlist_id", "playlist", "id")],
        defaults={"source": "local"},
    )
    # Weekly on-windows of a face's power (same time rules as schedule entries).
    db["power_window"].create(
        {
            "id": int,
            "face_id": int,
            "weekdays": str,
            "start_time": str,
            "end_time": str,
            "source": str,
        },
        pk="id",
        not_null={"face_id", "weekdays", "start_time", "end_time"},
        defaults={"source": "local", "weekdays": "[0,1,2,3,4,5,6]"},
    )
    # Manual power override. face_id NULL = every face. expires_at NULL =
    # until the next boundary of the face's power schedule.
    db["power_override"].create(
        {
            "id": int,
            "face_id": int,
            "state": str,  # on | off
            "expires_at": str,
            "created_at": str,
            "created_by": str,
            "reason": str,
        },
        pk="id",
        not_null={"state", "created_at"},
    )
    # The kill switch, one row. While active every face shows black.
    db["blank"].create(
        {
            "id": int,
            "active": int,
            "power_off": int,
            "reason": str,
            "by": str,
            "since": str,
        },
        pk="id",
    )
    db["blank"].insert({"id": 1, "active": 0, "power_off": 0})
    # Text notices (tickers and slides) set locally or by a release.
    # texts: JSON {"vi": "...", "en": "...", "zh"|"lo"|"km": "..."}.
    db["notice"].create(
        {
            "id": str,
            "kind": str,  # ticker | slide
            "level": str,
            "texts": str,
            "faces": str,  # JSON list, [] = all faces
            "style": str,  # JSON, renderer options
            "starts_at": str,
            "expires_at": str,
            "withdrawn_at": str,
            "created_at": str,
            "created_by": str,
            "source": str,
        },
        pk="id",
        not_null={"kind", "level", "texts"},
        defaults={"faces": "[]", "style": "{}", "source": "local"},
    )
    for table in DESIRED_TABLES:
        track_desired(db, table)

    # ---- actual state --------------------------------------------------
    db["face_state"].create(
        {
            "face_id": int,
            "power": str,  # on | off | unknown
            "blanked": int,
            "level": str,
            "entry_id": str,
            "playing_sha256": str,
            "playing_name": str,
            "playing_kind": str,
            "since": str,
            "next_sha256": str,
            "next_name": str,
            "next_at": str,
            "last_error": str,
            "screenshot": str,  # file name under screenshots/
            "screenshot_at": str,
            "updated_at": str,
        },
        pk="face_id",
    )
    db["state"].create({"key": str, "value": str, "updated_at": str}, pk="key")
    db["event"].create(
        {
            "id": int,
            "at": str,
            "source": str,  # player | sync | admin | power | text
            "level": str,  # info | warning | error
            "code": str,
            "message": str,
            "face_id": int,
            "detail": str,
        },
        pk="id",
    )
    db.execute("CREATE INDEX event_at ON event(at)")
    # One row per item shown on a face. outcome: completed | skipped | error |
    # preempted | playing (in flight). sent_at is set once central has it.
    db["proof_of_play"].create(
        {
            "id": int,
            "face_id": int,
            "media_sha256": str,
            "media_name": str,
            "entry_id": str,
            "level": str,
            "started_at": str,
            "ended_at": str,
            "outcome": str,
            "reason": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"face_id", "media_sha256", "started_at", "outcome"},
    )
    db.execute("CREATE INDEX proof_of_play_started ON proof_of_play(started_at)")
    db.execute("CREATE INDEX proof_of_play_unsent ON proof_of_play(sent_at) WHERE sent_at IS NULL")


@migrations()
def m002_entry_instants(db):
    # Absolute bounds for entries that must stop at an instant (emergency
    # releases with a short expiry, notices): ISO 8601 with offset, NULL = open.
    db["schedule_entry"].add_column("not_before", str)
    db["schedule_entry"].add_column("not_after", str)


@migrations()
def m003_central_blank(db):
    # Central's kill switch, one row, written only by the sync job from the
    # signed release's `blank` field (kiosk/sync/activate.py). Separate from the
    # technician's `blank` row: a face is black while either holds it, and
    # releasing one never releases the other. faces: JSON list, [] = every face.
    # since: when central blanked; version: the release that carried it.
    from kiosk.store import track_desired

    db["central_blank"].create(
        {"id": int, "active": int, "faces": str, "by": str, "reason": str, "since": str,
         "version": int},
        pk="id",
    )
    db["central_blank"].insert({"id": 1, "active": 0, "faces": "[]"})
    track_desired(db, "central_blank")
