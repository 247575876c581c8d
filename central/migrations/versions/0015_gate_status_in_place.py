"""A gate's status is updated in place, and carries the alert rules' view of its
heartbeat; heartbeat history is pruned by time without reading the whole table.

* `gate_status.alert_view`: the part of the heartbeat the alert rules read
  (central.alert_rules.heartbeat_view, as JSON), written by intake, which has the
  heartbeat parsed already: the alert loop reads ~300 bytes a changed gate instead
  of parsing its 1.5 KB heartbeat. NULL (rows written before, or by hand): the loop
  works it out from the heartbeat, as before.
* PostgreSQL: no index on `changed` any more. Every report's status update changed
  that indexed column, so none could be heap-only: each left a dead 1.5 KB row and
  new entries in both indexes. With no indexed column changing and room on the
  page, the update is heap-only. Fillfactor 50: two ~1.8 KB rows a page and room
  for both their next versions, even when both gates report in one group commit
  (likely: rows lie in the order gates first reported, so neighbours report
  together); 75 left room for one, and bench/report_store_cost.py's batches of 16
  neighbours were 47 % heap-only (50: 100 %). The alert loop's read of the rows stamped since its last tick
  (`changed >= mark`, 0010's rule, unchanged) scans the table instead: a few
  milliseconds of PostgreSQL every tick, against an index insert (and a dead row
  for VACUUM) on every report. SQLite keeps the index: its stamp is the highest
  one plus one.
* PostgreSQL: the stamp is set once per written row. 0010's trigger fired BEFORE
  INSERT and again BEFORE UPDATE for each upserted row. Now intake writes the stamp
  itself (`pg_current_xact_id()`, the same value the trigger writes), and the
  triggers fire only for a writer that leaves it as it was: an INSERT with the
  default 0, an UPDATE that does not set it (a repair by hand, a test) is still
  stamped, so "whichever path writes" still holds.
* heartbeat: an index on `received_at` (PostgreSQL: BRIN, a few pages for an
  append-only history in time order, summarised as the table grows; SQLite: a
  b-tree): prune_heartbeats deleted by `received_at` through a scan of the whole
  history.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# SQLite: the columns whose update stamps the row (0010's list and the view).
STATUS = "last_heartbeat_at, sent_at, release_version, last_good_release_version, heartbeat"
STAMP_SQLITE = ("UPDATE gate_status SET changed = "
                "(SELECT coalesce(max(changed), 0) + 1 FROM gate_status) "
                "WHERE gate_id = NEW.gate_id")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("gate_status", sa.Column("alert_view", sa.Text()))
    if postgres:
        op.drop_index("gate_status_changed", table_name="gate_status")
        op.execute("DROP TRIGGER gate_status_stamp ON gate_status")
        # gate_status_stamp() (0010) sets NEW.changed to the writing transaction's id.
        op.execute("CREATE TRIGGER gate_status_stamp_insert BEFORE INSERT ON gate_status "
                   "FOR EACH ROW WHEN (NEW.changed = 0) EXECUTE FUNCTION gate_status_stamp()")
        op.execute("CREATE TRIGGER gate_status_stamp_update BEFORE UPDATE ON gate_status "
                   "FOR EACH ROW WHEN (NEW.changed IS NOT DISTINCT FROM OLD.changed) "
                   "EXECUTE FUNCTION gate_status_stamp()")
        op.execute("ALTER TABLE gate_status SET (fillfactor = 50)")
        op.execute("CREATE INDEX heartbeat_received ON heartbeat USING brin (received_at) "
                   "WITH (autosummarize = on)")
    else:
        op.execute("DROP TRIGGER gate_status_stamp_update")
        op.execute(f"CREATE TRIGGER gate_status_stamp_update AFTER UPDATE OF {STATUS}, "
                   f"alert_view ON gate_status BEGIN {STAMP_SQLITE}; END")
        op.create_index("heartbeat_received", "heartbeat", ["received_at"])


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("heartbeat_received", table_name="heartbeat")
    if postgres:
        op.execute("ALTER TABLE gate_status RESET (fillfactor)")
        op.execute("DROP TRIGGER gate_status_stamp_update ON gate_status")
        op.execute("DROP TRIGGER gate_status_stamp_insert ON gate_status")
        op.execute("CREATE TRIGGER gate_status_stamp BEFORE INSERT OR UPDATE ON gate_status "
                   "FOR EACH ROW EXECUTE FUNCTION gate_status_stamp()")
        op.create_index("gate_status_changed", "gate_status", ["changed"])
    else:
        op.execute("DROP TRIGGER gate_status_stamp_update")
        op.execute(f"CREATE TRIGGER gate_status_stamp_update AFTER UPDATE OF {STATUS} "
                   f"ON gate_status BEGIN {STAMP_SQLITE}; END")
    with op.batch_alter_table("gate_status") as batch:
        batch.drop_column("alert_view")
