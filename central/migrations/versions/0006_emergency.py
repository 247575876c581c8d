"""Emergencies in their own table, and publications waiting for approval.

`emergency`: an emergency is layered onto each target gate's release in force
by itself (central/publish.py), so it is no longer an ordinary notice or
schedule entry row. `publication_request`: four-eyes publishing, a submitted
publication with the preview it was approved on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "emergency",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("gates", sa.Text(), nullable=False),
        sa.Column("faces", sa.Text(), nullable=False),
        sa.Column("texts", sa.Text(), nullable=False),
        sa.Column("playlist_id", sa.Text(), sa.ForeignKey("playlist.id")),
        sa.Column("starts_at", sa.Text(), nullable=False),
        sa.Column("ends_at", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("publication_id", sa.BigInteger()),
        sa.Column("cancelled_at", sa.Text()),
        sa.Column("cancelled_by", sa.Text()),
        sa.Column("cancel_reason", sa.Text()),
    )
    op.create_index("emergency_ends", "emergency", ["ends_at"])
    op.create_table(
        "publication_request",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Text()),
        sa.Column("decided_at", sa.Text()),
        sa.Column("decision_reason", sa.Text()),
        sa.Column("publication_id", sa.BigInteger()),
    )
    op.create_index("publication_request_state", "publication_request", ["state"])


def downgrade() -> None:
    op.drop_table("publication_request")
    op.drop_table("emergency")
