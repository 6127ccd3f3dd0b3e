"""Alembic environment. The URL (or an open connection) comes from bridge's own
configuration through `bridge.ledger.migrate`, never from an ini file."""

from __future__ import annotations

from alembic import context

from bridge.ledger.db import make_engine
from bridge.ledger.migrate import LOCK_WAIT_SECONDS, context_options, migration_lock
from bridge.ledger.tables import metadata

config = context.config


def _on_version_apply(**kw) -> None:
    on_step = config.attributes.get("on_step")
    if on_step is not None:
        on_step(kw["step"])


def _configure_and_run(connection) -> None:
    # On PostgreSQL the whole run holds one session-level advisory lock (two deploys
    # migrating at once queue on it) with the session's lock and statement timeouts, so
    # every migration of the run is covered, not only the first transaction's.
    with migration_lock(connection, config.attributes.get("lock_wait_seconds",
                                                          LOCK_WAIT_SECONDS)):
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            on_version_apply=_on_version_apply,
            **context_options(connection),
        )
        with context.begin_transaction():
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
