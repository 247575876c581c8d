"""Tables the sync job owns (migration set "gatecast.sync").

`sync_outbox` is the upstream queue for heartbeats and screenshots; proof of play is
not copied into it: the core `proof_of_play` table is its own queue (`sent_at` NULL
means central does not have the row yet), so it can never be dropped by a bound here.
"""

from sqlite_utils.migrations import Migrations

migrations = Migrations("gatecast.sync")


@migrations()
def m001_outbox(db):
    # kind: heartbeat (body holds the JSON) | screenshot (path names a file under
    # <state>/outbox/). size counts both, for the queue's byte bound.
    db["sync_outbox"].create(
        {
            "id": int,
            "kind": str,
            "created_at": str,
            "face_id": int,
            "body": str,
            "path": str,
            "size": int,
            "attempts": int,
            "last_error": str,
        },
        pk="id",
        not_null={"kind", "created_at", "size"},
        defaults={"attempts": 0},
    )
    db.execute("CREATE INDEX sync_outbox_kind ON sync_outbox(kind, id)")
    # Proof-of-play rows central refused as malformed (a 4xx for that row alone):
    # kept out of later batches so one bad row cannot block the queue, and kept
    # locally (the row itself stays in proof_of_play) for the operator.
    db["sync_rejected_play"].create(
        {"play_id": int, "at": str, "status": int, "reason": str}, pk="play_id"
    )


@migrations()
def m002_installation(db):
    # One random id per gate database: made when the database is created, so a gate
    # reinstalled on a new SD card (same gate id, proof-of-play row ids starting
    # again at 1) sends rows central tells apart from the old installation's.
    import uuid

    db["sync_installation"].create({"id": str}, pk="id")
    db["sync_installation"].insert({"id": uuid.uuid4().hex})


def installation_id(db) -> str:
    """This gate database's installation id (sent with every proof-of-play row)."""
    return db.execute("SELECT id FROM sync_installation").fetchone()[0]
