"""Baseline: central's schema as sqlite-utils migration m001_central made it.

A central.db from before Alembic is stamped with this revision (central.db
migrate), so it is upgraded from here, never created twice.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "user",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text()),
        sa.Column("created_at", sa.Text()),
    )
    op.create_table(
        "media",
        sa.Column("sha256", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("format", sa.Text()),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("duration_s", sa.Float()),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.Text()),
        sa.Column("uploaded_by", sa.Text()),
        sa.Column("approved_at", sa.Text()),
        sa.Column("approved_by", sa.Text()),
        sa.Column("retired_at", sa.Text()),
        sa.Column("retired_by", sa.Text()),
    )
    op.create_table(
        "gate",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("province", sa.Text()),
        sa.Column("faces", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text()),
        sa.Column("token_issued_at", sa.Text()),
        sa.Column("created_at", sa.Text()),
    )
    op.create_table(
        "gate_group",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("created_at", sa.Text()),
    )
    op.create_table(
        "gate_group_member",
        sa.Column("group_id", sa.Text(), sa.ForeignKey("gate_group.id"), primary_key=True),
        sa.Column("gate_id", sa.Text(), sa.ForeignKey("gate.id"), primary_key=True),
    )
    op.create_table(
        "playlist",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text()),
    )
    op.create_table(
        "playlist_item",
        sa.Column("playlist_id", sa.Text(), sa.ForeignKey("playlist.id"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("media_sha256", sa.Text(), sa.ForeignKey("media.sha256")),
        sa.Column("duration_s", sa.Float()),
    )
    op.create_table(
        "schedule_entry",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("target_kind", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Text(), nullable=False),
        sa.Column("playlist_id", sa.Text(), sa.ForeignKey("playlist.id"), nullable=False),
        sa.Column("faces", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Text()),
        sa.Column("end_date", sa.Text()),
        sa.Column("weekdays", sa.Text(), nullable=False),
        sa.Column("start_time", sa.Text(), nullable=False),
        sa.Column("end_time", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("not_before", sa.Text()),
        sa.Column("not_after", sa.Text()),
        sa.Column("created_at", sa.Text()),
        sa.Column("created_by", sa.Text()),
    )
    op.create_table(
        "fallback",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("target_kind", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Text(), nullable=False),
        sa.Column("face_id", sa.Integer()),
        sa.Column("playlist_id", sa.Text(), sa.ForeignKey("playlist.id"), nullable=False),
    )
    op.create_table(
        "power_window",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("target_kind", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Text(), nullable=False),
        sa.Column("face_id", sa.Integer()),
        sa.Column("weekdays", sa.Text(), nullable=False),
        sa.Column("start_time", sa.Text(), nullable=False),
        sa.Column("end_time", sa.Text(), nullable=False),
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("target_kind", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("texts", sa.Text(), nullable=False),
        sa.Column("faces", sa.Text()),
        sa.Column("style", sa.Text()),
        sa.Column("starts_at", sa.Text()),
        sa.Column("expires_at", sa.Text()),
        sa.Column("created_at", sa.Text()),
        sa.Column("created_by", sa.Text()),
    )
    for table in ("schedule_entry", "fallback", "power_window", "notice"):
        op.create_index(f"{table}_target", table, ["target_kind", "target_id"])
    op.create_table(
        "release",
        sa.Column("gate_id", sa.Text(), primary_key=True),
        sa.Column("version", sa.BigInteger(), primary_key=True),
        sa.Column("content_sha256", sa.Text()),
        sa.Column("published_at", sa.Text()),
        sa.Column("publication_id", sa.BigInteger()),
        sa.Column("document", sa.Text()),
    )
    op.create_table(
        "publication",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", sa.Text()),
        sa.Column("by", sa.Text()),
        sa.Column("repository_version", sa.BigInteger()),
        sa.Column("gates_changed", sa.Integer()),
        sa.Column("note", sa.Text()),
    )
    op.create_table(
        "gate_status",
        sa.Column("gate_id", sa.Text(), primary_key=True),
        sa.Column("last_heartbeat_at", sa.Text()),
        sa.Column("sent_at", sa.Text()),
        sa.Column("release_version", sa.BigInteger()),
        sa.Column("last_good_release_version", sa.BigInteger()),
        sa.Column("heartbeat", sa.Text()),
    )
    op.create_table(
        "heartbeat",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("gate_id", sa.Text()),
        sa.Column("received_at", sa.Text()),
        sa.Column("sent_at", sa.Text()),
        sa.Column("release_version", sa.BigInteger()),
        sa.Column("body", sa.Text()),
    )
    op.create_index("heartbeat_gate", "heartbeat", ["gate_id", "received_at"])
    op.create_table(
        "proof_of_play",
        sa.Column("gate_id", sa.Text(), primary_key=True),
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
    op.create_index("proof_of_play_media", "proof_of_play", ["media_sha256", "started_at"])
    op.create_table(
        "screenshot",
        sa.Column("gate_id", sa.Text(), primary_key=True),
        sa.Column("face_id", sa.Integer(), primary_key=True),
        sa.Column("taken_at", sa.Text()),
        sa.Column("received_at", sa.Text()),
        sa.Column("file", sa.Text()),
        sa.Column("content_type", sa.Text()),
        sa.Column("size", sa.Integer()),
    )
    op.create_table(
        "audit",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", sa.Text()),
        sa.Column("who", sa.Text()),
        sa.Column("action", sa.Text()),
        sa.Column("subject", sa.Text()),
        sa.Column("detail", sa.Text()),
    )


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone; restore a backup instead")
