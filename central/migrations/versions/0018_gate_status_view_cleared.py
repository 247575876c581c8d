"""Whoever writes a gate's heartbeat without its alert view clears the view.

gate_status.alert_view (0015) is what the alert rules read of the heartbeat, written
by intake with it. A writer that updates `heartbeat` and leaves `alert_view` as it
was (a repair by hand, a script) left the alert loop reading the old view: alerts
from a heartbeat that is no longer there. Now the database clears it (NULL: the
loop works the view out from the heartbeat, as for rows from before 0015).

Intake is told from such a writer by the stamp, as 0015 already does on
PostgreSQL: intake writes `changed` itself, with the heartbeat AND the view; a
writer that leaves `changed` as it was gets the stamp trigger, which now also
clears the view when the heartbeat changed and the view did not (an intake
heartbeat often leaves the view as it was: nothing the rules read changed, so
"the view did not change" alone cannot tell them apart).

* PostgreSQL: 0015's update trigger, which runs only for such writers, runs a
  function of its own (gate_status_hand_update: it stamps as gate_status_stamp()
  does, and clears the view). Intake's statement is unchanged: no trigger
  runs for it, its update stays heap-only.
* SQLite: intake now writes the stamp too (the highest plus one, once per batch:
  writers go one at a time), and the update trigger runs only when the stamp was
  left as it was (before, it ran for every row intake wrote).

A writer that sets `changed` itself is taken at its word, as intake: it writes the
view too (or NULL).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# SQLite: the columns whose update stamps the row (0015's list).
STATUS = "last_heartbeat_at, sent_at, release_version, last_good_release_version, heartbeat"
STAMP_SQLITE = ("UPDATE gate_status SET changed = "
                "(SELECT coalesce(max(changed), 0) + 1 FROM gate_status)")
# PostgreSQL: 0010's gate_status_stamp() stamps screenshot rows too (0011), so the
# update trigger of gate_status gets a function of its own.
HAND_UPDATE_PG = """
    CREATE FUNCTION gate_status_hand_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.changed := pg_current_xact_id()::text::bigint;
        IF NEW.heartbeat IS DISTINCT FROM OLD.heartbeat
                AND NEW.alert_view IS NOT DISTINCT FROM OLD.alert_view THEN
            NEW.alert_view := NULL;
        END IF;
        RETURN NEW;
    END $$"""
UPDATE_TRIGGER_PG = ("CREATE TRIGGER gate_status_stamp_update BEFORE UPDATE ON gate_status "
                     "FOR EACH ROW WHEN (NEW.changed IS NOT DISTINCT FROM OLD.changed) "
                     "EXECUTE FUNCTION {}()")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(HAND_UPDATE_PG)
        op.execute("DROP TRIGGER gate_status_stamp_update ON gate_status")
        op.execute(UPDATE_TRIGGER_PG.format("gate_status_hand_update"))
    else:
        op.execute("DROP TRIGGER gate_status_stamp_update")
        op.execute(f"CREATE TRIGGER gate_status_stamp_update AFTER UPDATE OF {STATUS}, "
                   f"alert_view ON gate_status WHEN NEW.changed IS OLD.changed BEGIN "
                   f"{STAMP_SQLITE}, alert_view = CASE WHEN NEW.heartbeat IS NOT OLD.heartbeat "
                   f"AND NEW.alert_view IS OLD.alert_view THEN NULL ELSE NEW.alert_view END "
                   f"WHERE gate_id = NEW.gate_id; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER gate_status_stamp_update ON gate_status")
        op.execute(UPDATE_TRIGGER_PG.format("gate_status_stamp"))
        op.execute("DROP FUNCTION gate_status_hand_update()")
    else:
        op.execute("DROP TRIGGER gate_status_stamp_update")
        op.execute(f"CREATE TRIGGER gate_status_stamp_update AFTER UPDATE OF {STATUS}, "
                   f"alert_view ON gate_status BEGIN {STAMP_SQLITE} "
                   f"WHERE gate_id = NEW.gate_id; END")
