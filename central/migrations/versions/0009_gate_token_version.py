"""Gate tokens read by what changed (central.gate_tokens): `gate.token_version` is
set from one counter (`gate_token_clock`, a single row) by every path that issues,
reissues or takes away a gate's token. Writers take the counter's row lock, so the
versions commit in the order they are numbered, and a server's token memory reads
only the gates whose version is above the highest it has seen instead of every
gate every half lifetime. Existing gates start at 0 (a memory's first read takes
every gate).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("gate", sa.Column("token_version", sa.BigInteger(), nullable=False,
                                    server_default="0"))
    op.create_index("gate_token_version", "gate", ["token_version"])
    clock = op.create_table(
        "gate_token_clock",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(clock, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("gate_token_clock")
    op.drop_index("gate_token_version", table_name="gate")
    with op.batch_alter_table("gate") as batch:
        batch.drop_column("token_version")
