"""The alert loop reads only the screenshots that changed (central.alerts.FleetMemory),
as 0010 did for gate statuses: `screenshot.changed` is stamped by the database on
every insert and update (PostgreSQL: the writing transaction's id, the same trigger
function as gate_status; SQLite: one more than the highest stamp).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SHOT = ("taken_at, received_at, file, content_type, size, luma, picture_sha256, "
        "picture_changed_at")
KEY = "gate_id = NEW.gate_id AND face_id = NEW.face_id"


def upgrade() -> None:
    op.add_column("screenshot", sa.Column("changed", sa.BigInteger(), nullable=False,
                                          server_default="0"))
    op.create_index("screenshot_changed", "screenshot", ["changed"])
    if op.get_bind().dialect.name == "postgresql":
        # gate_status_stamp() (0010) sets NEW.changed, whatever the table.
        op.execute("CREATE TRIGGER screenshot_stamp BEFORE INSERT OR UPDATE ON screenshot "
                   "FOR EACH ROW EXECUTE FUNCTION gate_status_stamp()")
    else:
        stamp = ("UPDATE screenshot SET changed = "
                 f"(SELECT coalesce(max(changed), 0) + 1 FROM screenshot) WHERE {KEY}")
        op.execute(f"CREATE TRIGGER screenshot_stamp_insert AFTER INSERT ON screenshot "
                   f"BEGIN {stamp}; END")
        op.execute(f"CREATE TRIGGER screenshot_stamp_update AFTER UPDATE OF {SHOT} "
                   f"ON screenshot BEGIN {stamp}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER screenshot_stamp ON screenshot")
    else:
        op.execute("DROP TRIGGER screenshot_stamp_update")
        op.execute("DROP TRIGGER screenshot_stamp_insert")
    op.drop_index("screenshot_changed", table_name="screenshot")
    with op.batch_alter_table("screenshot") as batch:
        batch.drop_column("changed")
