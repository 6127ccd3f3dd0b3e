"""Alembic environment. The URL (or an open connection) comes from bridge's own
configuration through `bridge.ledger.migrate`, never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from bridge.ledger.db import make_engine
from bridge.ledger.tables import metadata

config = context.config


def _configure_and_run(connection) -> None:
    is_postgres = connection.dialect.name == "postgresql"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        if is_postgres:
            # Two deploys migrating at once queue on this lock instead of colliding, and a
            # migration never waits forever behind a long-running query.
            connection.execute(text("SELECT pg_advisory_xact_lock(74211)"))
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _configure_and_run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
