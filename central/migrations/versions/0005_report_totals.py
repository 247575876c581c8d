"""Report totals kept at intake: `play_day` and `face_time_day` (central/reports.py).

`play_day` starts with every proof-of-play row central holds (raw rows, and the
daily totals already folded from pruned ones, whose schedule entry is unknown: '')
so reports cover the history from before this revision. Days are counted in
Asia/Ho_Chi_Minh (central_timezone's default; Vietnam has no daylight saving);
folded totals keep their UTC day. `face_time_day` starts empty: heartbeat history
before this revision is not replayed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SHOWN = "('completed', 'skipped', 'preempted')"


def upgrade() -> None:
    op.create_table(
        "play_day",
        sa.Column("day", sa.Text(), primary_key=True),
        sa.Column("gate_id", sa.Text(), primary_key=True),
        sa.Column("face_id", sa.Integer(), primary_key=True),
        sa.Column("media_sha256", sa.Text(), primary_key=True),
        sa.Column("entry_id", sa.Text(), primary_key=True),
        sa.Column("outcome", sa.Text(), primary_key=True),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("airtime_s", sa.Float(), nullable=False),
    )
    op.create_table(
        "face_time_day",
        sa.Column("day", sa.Text(), primary_key=True),
        sa.Column("gate_id", sa.Text(), primary_key=True),
        sa.Column("face_id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.Text(), primary_key=True),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        day = ("to_char(started_at::timestamptz AT TIME ZONE 'Asia/Ho_Chi_Minh', "
               "'YYYY-MM-DD')")
        airtime = "extract(epoch FROM ended_at::timestamptz - started_at::timestamptz)"
    else:
        day = "date(started_at, '+7 hours')"
        # julianday is a double of days: to the millisecond, as the gates record.
        airtime = "round((julianday(ended_at) - julianday(started_at)) * 86400.0, 3)"
    op.execute(f"""
        INSERT INTO play_day (day, gate_id, face_id, media_sha256, entry_id, outcome,
                              plays, airtime_s)
        SELECT day, gate_id, face_id, media_sha256, entry_id, outcome, sum(plays),
               sum(airtime_s)
        FROM (
            SELECT {day} AS day, gate_id, face_id, media_sha256,
                   coalesce(entry_id, '') AS entry_id, outcome, 1 AS plays,
                   CASE WHEN outcome IN {SHOWN} AND span > 0 THEN span ELSE 0 END
                       AS airtime_s
            FROM (SELECT *, {airtime} AS span FROM proof_of_play
                  WHERE outcome != 'playing' AND started_at IS NOT NULL) AS raw
            UNION ALL
            SELECT day, gate_id, face_id, media_sha256, '', outcome, plays, airtime_s
            FROM proof_of_play_daily
        ) AS rows
        GROUP BY day, gate_id, face_id, media_sha256, entry_id, outcome
    """)


def downgrade() -> None:
    op.drop_table("face_time_day")
    op.drop_table("play_day")
