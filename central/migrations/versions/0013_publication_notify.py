"""Gates waiting for a release learn of a publication without every server polling
the publication table (central.notify.ReleaseWatch): on PostgreSQL each publication
row, when its transaction commits, sends NOTIFY on channel `gatecast_release` (its id
as payload), which every server's release watch LISTENs to. SQLite has no
notifications: its watch keeps polling.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION publication_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('gatecast_release', NEW.id::text);
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER publication_notify AFTER INSERT ON publication "
               "FOR EACH ROW EXECUTE FUNCTION publication_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER publication_notify ON publication")
    op.execute("DROP FUNCTION publication_notify()")
