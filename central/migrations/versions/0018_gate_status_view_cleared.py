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

* PostgreSQL: gate_status_stamp() (0010), run by 0015's update trigger only for
  such writers, clears the view too. Intake's statement is unchanged: no trigger
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
STAMP_PG = "NEW.changed := pg_current_xact_id()::text::bigint;"


def _stamp_pg(clear: bool) -> str:
    view = """
            IF TG_OP = 'UPDATE' AND NEW.heartbeat IS DISTINCT FROM OLD.heartbeat
                    AND NEW.alert_view IS NOT DISTINCT FROM OLD.alert_view THEN
                NEW.alert_view := NULL;
            END IF;""" if clear else ""
    return f"""
        CREATE OR REPLACE FUNCTION gate_status_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {STAMP_PG}{view}
            RETURN NEW;
        END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_stamp_pg(clear=True))
    else:
        op.execute("DROP TRIGGER gate_status_stamp_update")
        op.execute(f"CREATE TRIGGER gate_status_stamp_update AFTER UPDATE OF {STATUS}, "
                   f"alert_view ON gate_status WHEN NEW.changed IS OLD.changed BEGIN "
                   f"{STAMP_SQLITE}, alert_view = CASE WHEN NEW.heartbeat IS NOT OLD.heartbeat "
                   f"AND NEW.alert_view IS OLD.alert_view THEN NULL ELSE NEW.alert_view END "
                   f"WHERE gate_id = NEW.gate_id; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_stamp_pg(clear=False))
    else:
        op.execute("DROP TRIGGER gate_status_stamp_update")
        op.execute(f"CREATE TRIGGER gate_status_stamp_update AFTER UPDATE OF {STATUS}, "
                   f"alert_view ON gate_status BEGIN {STAMP_SQLITE} "
                   f"WHERE gate_id = NEW.gate_id; END")
