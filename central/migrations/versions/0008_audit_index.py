"""The audit log's indexes, for the Audit log page's filters (central.users.find_audit):
newest first on its own (`at`), by person (`who`, then `at`) and by action or an
action family (`action`, then `at`; a family is an index range, "media." to
"media/"). Years of logins and edits no longer mean reading the whole table for
each page, and the page's list of people is read from the index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("audit_at", "audit", ["at", "id"])
    op.create_index("audit_who", "audit", ["who", "at"])
    op.create_index("audit_action", "audit", ["action", "at"])


def downgrade() -> None:
    for name in ("audit_action", "audit_who", "audit_at"):
        op.drop_index(name, table_name="audit")
