"""The alert loop reads only the gate statuses that changed (central.alerts.FleetMemory):
`gate_status.changed` is stamped by the database itself on every insert and update,
whichever path writes (intake, a test, a repair by hand):

* PostgreSQL: the writing transaction's id (`pg_current_xact_id()`, 64-bit, never
  wraps). A reader first takes the oldest transaction still running
  (`pg_snapshot_xmin`); every transaction below it has ended, so reading
  `changed >= that` next time misses no commit, however late it lands.
* SQLite: one more than the highest stamp (writers are one at a time, so stamps
  commit in order; a reader reads `changed > the highest it saw`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STATUS = "last_heartbeat_at, sent_at, release_version, last_good_release_version, heartbeat"


def upgrade() -> None:
    op.add_column("gate_status", sa.Column("changed", sa.BigInteger(), nullable=False,
                                           server_default="0"))
    op.create_index("gate_status_changed", "gate_status", ["changed"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION gate_status_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.changed := pg_current_xact_id()::text::bigint;
                RETURN NEW;
            END $$""")
        op.execute("CREATE TRIGGER gate_status_stamp BEFORE INSERT OR UPDATE ON gate_status "
                   "FOR EACH ROW EXECUTE FUNCTION gate_status_stamp()")
        op.execute("UPDATE gate_status SET changed = 0")  # stamps every existing row
    else:
        stamp = ("UPDATE gate_status SET changed = "
                 "(SELECT coalesce(max(changed), 0) + 1 FROM gate_status) "
                 "WHERE gate_id = NEW.gate_id")
        op.execute(f"CREATE TRIGGER gate_status_stamp_insert AFTER INSERT ON gate_status "
                   f"BEGIN {stamp}; END")
        op.execute(f"CREATE TRIGGER gate_status_stamp_update AFTER UPDATE OF {STATUS} "
                   f"ON gate_status BEGIN {stamp}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER gate_status_stamp ON gate_status")
        op.execute("DROP FUNCTION gate_status_stamp()")
    else:
        op.execute("DROP TRIGGER gate_status_stamp_update")
        op.execute("DROP TRIGGER gate_status_stamp_insert")
    op.drop_index("gate_status_changed", table_name="gate_status")
    with op.batch_alter_table("gate_status") as batch:
        batch.drop_column("changed")
