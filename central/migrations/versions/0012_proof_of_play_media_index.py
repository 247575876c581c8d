"""Drop proof_of_play's index on (media_sha256, started_at): nothing reads it any
more (reports read the play_day totals kept at intake since 0005; the alert loop
reads a gate's rows by the primary key's gate_id; pruning reads
`proof_of_play_received`), and every proof-of-play row paid for it at intake:
a third of the index work of PostgreSQL's busiest statement at 10,000 gates
(bench/report_store_cost.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("proof_of_play_media", table_name="proof_of_play")


def downgrade() -> None:
    op.create_index("proof_of_play_media", "proof_of_play", ["media_sha256", "started_at"])
