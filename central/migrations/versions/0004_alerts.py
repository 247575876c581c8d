"""Alerts: episodes per gate/kind/face, subscriptions, the delivery outbox; and what
the face-dark rule reads of each screenshot (brightness, picture hash, since when).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("screenshot") as batch:
        batch.add_column(sa.Column("luma", sa.Float()))
        batch.add_column(sa.Column("picture_sha256", sa.Text()))
        batch.add_column(sa.Column("picture_changed_at", sa.Text()))
    op.create_table(
        "alert",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("gate_id", sa.Text(), sa.ForeignKey("gate.id"), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("face_id", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.Text()),
        sa.Column("clear_since", sa.Text()),
        sa.Column("resolved_at", sa.Text()),
        sa.Column("detail", sa.Text()),
        sa.Column("acknowledged_at", sa.Text()),
        sa.Column("acknowledged_by", sa.Text()),
    )
    op.create_index("alert_unresolved", "alert", ["gate_id", "kind", "face_id"], unique=True,
                    sqlite_where=sa.text("state != 'resolved'"),
                    postgresql_where=sa.text("state != 'resolved'"))
    op.create_index("alert_state", "alert", ["state", "opened_at"])
    op.create_table(
        "alert_subscription",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("group_id", sa.Text(), sa.ForeignKey("gate_group.id")),
        sa.Column("min_severity", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text()),
        sa.Column("created_by", sa.Text()),
    )
    op.create_table(
        "alert_delivery",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("alert_id", sa.BigInteger(), sa.ForeignKey("alert.id"), nullable=False),
        sa.Column("subscription_id", sa.BigInteger(),
                  sa.ForeignKey("alert_subscription.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("queued_at", sa.Text(), nullable=False),
        sa.Column("next_attempt_at", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.Text()),
        sa.Column("last_error", sa.Text()),
    )
    op.create_index("alert_delivery_once", "alert_delivery",
                    ["alert_id", "subscription_id", "event"], unique=True)
    op.create_index("alert_delivery_due", "alert_delivery", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("alert_delivery")
    op.drop_table("alert_subscription")
    op.drop_table("alert")
    with op.batch_alter_table("screenshot") as batch:
        batch.drop_column("picture_changed_at")
        batch.drop_column("picture_sha256")
        batch.drop_column("luma")
