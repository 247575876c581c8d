"""A heartbeat is stored once in the history, however often the gate sends it.

The gate sends a report again when its answer was lost (kiosk.sync.link re-sends
once on a kept connection found closed; the sync loop re-sends after any lost
answer), byte for byte: its queued body is fixed. Proof of play is idempotent by
its key and the status is an upsert, but the heartbeat history kept a second copy,
which the console's history of the gate then showed twice.

What identifies a heartbeat: its gate and its `sent_at`, the gate's clock when it
built it, in milliseconds (kiosk.store.iso); a gate builds one a minute. Not the
time it was received: a copy comes as late as the gate's next round, hours after an
outage. A gate whose clock stepped back (a Pi without a clock battery starts from
the time it saved at shutdown, until NTP answers) could build a new heartbeat at a
millisecond it had already used: the history then keeps the first of the two (the
status takes both, as always). That is one lost history row in a rare collision,
against md5 of every ~1.5 KB body in the key on the path of every report. A
heartbeat without `sent_at` has no identity and is always kept (NULLs are
distinct in a unique index, on both stores).

A unique index on (gate_id, sent_at), and intake's ON CONFLICT DO NOTHING: a copy in
the same batch or in a concurrent transaction (a gate that gave up waiting while
central still held the first) is stored once too. It is one more index on the
history: heartbeat_gate (gate_id, received_at) stays, the console reads a gate's
history by when it arrived.

Copies already stored are deleted first, the oldest kept (its received_at is when
the heartbeat first arrived).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DELETE FROM heartbeat h USING heartbeat o WHERE o.gate_id = h.gate_id "
                   "AND o.sent_at = h.sent_at AND o.id < h.id")
    else:
        op.execute("DELETE FROM heartbeat WHERE id NOT IN (SELECT min(id) FROM heartbeat "
                   "GROUP BY gate_id, sent_at) AND sent_at IS NOT NULL")
    op.create_index("heartbeat_sent", "heartbeat", ["gate_id", "sent_at"], unique=True)


def downgrade() -> None:
    op.drop_index("heartbeat_sent", table_name="heartbeat")
