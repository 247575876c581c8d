"""Proof of play keyed by (gate, installation, row id); raw rows prunable.

A gate's row ids start again at 1 when it is reinstalled (new SD card, same
gate id): keyed on (gate, row id) alone, the new rows overwrote the old ones.
Gates now send their installation id with every row; rows stored before this
revision (and rows from gates that do not send one yet) have installation ''
and keep their identity. The table is copied because SQLite cannot change a
primary key in place; `proof_of_play_received` lets old raw rows be pruned
without a scan. `proof_of_play_daily` keeps per-day totals for good once raw
rows are pruned.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ("gate_id", "row_id", "face_id", "media_sha256", "entry_id", "level", "started_at",
           "ended_at", "outcome", "reason", "batch_id", "received_at")


def upgrade() -> None:
    op.create_table(
        "proof_of_play_new",
        sa.Column("gate_id", sa.Text(), primary_key=True),
        sa.Column("installation", sa.Text(), primary_key=True, server_default=""),
        sa.Column("row_id", sa.BigInteger(), primary_key=True),
        sa.Column("face_id", sa.Integer()),
        sa.Column("media_sha256", sa.Text()),
        sa.Column("entry_id", sa.Text()),
        sa.Column("level", sa.Text()),
        sa.Column("started_at", sa.Text()),
        sa.Column("ended_at", sa.Text()),
        sa.Column("outcome", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("batch_id", sa.Text()),
        sa.Column("received_at", sa.Text()),
    )
    cols = ", ".join(COLUMNS)
    op.execute(f"INSERT INTO proof_of_play_new (installation, {cols}) "
               f"SELECT '', {cols} FROM proof_of_play")
    op.drop_index("proof_of_play_media", table_name="proof_of_play")
    op.drop_table("proof_of_play")
    op.rename_table("proof_of_play_new", "proof_of_play")
    op.create_index("proof_of_play_media", "proof_of_play", ["media_sha256", "started_at"])
    op.create_index("proof_of_play_received", "proof_of_play", ["received_at"])
    op.create_table(
        "proof_of_play_daily",
        sa.Column("gate_id", sa.Text(), primary_key=True),
        sa.Column("day", sa.Text(), primary_key=True),
        sa.Column("face_id", sa.Integer(), primary_key=True),
        sa.Column("media_sha256", sa.Text(), primary_key=True),
        sa.Column("outcome", sa.Text(), primary_key=True),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("airtime_s", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("proof of play from reinstalled gates cannot share one key again")
