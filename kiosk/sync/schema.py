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
