"""Alembic's environment for the central store: always run through
central.db.migrate, which passes a connection holding the migration lock."""

from alembic import context

from central.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite changes columns by copying tables ("batch" mode).
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
