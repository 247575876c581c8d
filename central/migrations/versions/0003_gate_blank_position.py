"""The kill switch from central and gate positions for the fleet map.

`gate_blank` holds central's kill switch per gate (central/killswitch.py): it
rides every release of the gate as the document's `blank` field, so the gate
verifies it like any content. `gate.latitude`/`gate.longitude` place a gate on
the console's offline map (WGS 84 degrees, NULL: not placed yet).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_blank",
        sa.Column("gate_id", sa.Text(), primary_key=True),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("faces", sa.Text(), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
    )
    with op.batch_alter_table("gate") as batch:
        batch.add_column(sa.Column("latitude", sa.Float()))
        batch.add_column(sa.Column("longitude", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("gate") as batch:
        batch.drop_column("longitude")
        batch.drop_column("latitude")
    op.drop_table("gate_blank")
