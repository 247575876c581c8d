"""The console's accounts and the library's review fields.

- user: a password (werkzeug scrypt) beside the API token, disabled, an
  epoch (bumped by a password or role change: it ends the user's sessions),
  the language and time zone pages are shown in, and whether the password is
  a one-time one that must be changed at the first login. Existing users keep
  their name, role and API token; they have no password until an admin sets
  one (`gatecast central user password NAME` or the Users page).
- console_session: the console's server-side login sessions (sha256 of the
  cookie's token); revoking a row ends that login at once.
- login_failure: failed logins per user name and per client address (throttle).
- media: the language of its text, valid_from/valid_until dates, and who
  rejected it, when and why.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("password_hash", sa.Text()))
        batch.add_column(sa.Column("disabled", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("language", sa.Text()))
        batch.add_column(sa.Column("timezone", sa.Text()))
        batch.add_column(sa.Column("must_change_password", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("created_by", sa.Text()))
        batch.add_column(sa.Column("last_login_at", sa.Text()))
    op.create_table(
        "console_session",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("last_seen_at", sa.Text()),
        sa.Column("expires_at", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.Text()),
        sa.Column("client", sa.Text()),
        sa.Column("user_agent", sa.Text()),
    )
    op.create_index("console_session_user", "console_session", ["user_name"])
    op.create_table(
        "login_failure",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.Text()),
        sa.Column("locked_until", sa.Text()),
    )
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("language", sa.Text()))
        batch.add_column(sa.Column("valid_from", sa.Text()))
        batch.add_column(sa.Column("valid_until", sa.Text()))
        batch.add_column(sa.Column("rejected_at", sa.Text()))
        batch.add_column(sa.Column("rejected_by", sa.Text()))
        batch.add_column(sa.Column("reject_reason", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        for column in ("reject_reason", "rejected_by", "rejected_at", "valid_until",
                       "valid_from", "language"):
            batch.drop_column(column)
    op.drop_table("login_failure")
    op.drop_index("console_session_user", "console_session")
    op.drop_table("console_session")
    with op.batch_alter_table("user") as batch:
        for column in ("last_login_at", "created_by", "must_change_password", "timezone",
                       "language", "epoch", "disabled", "password_hash"):
            batch.drop_column(column)
