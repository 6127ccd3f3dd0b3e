"""Runs the Alembic migrations from code (`bridge db upgrade`, tests, the demo), guards a
run on PostgreSQL with one lock, and checks that the ledger matches the models."""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Constraint, Index, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.schema import ColumnCollectionConstraint

from bridge.invocation import bridge_command
from bridge.ledger.db import make_engine, normalise_url
from bridge.ledger.tables import metadata

# First half of the advisory lock's key; the second half is the schema's hash, so ledgers
# in different schemas of one database do not wait for each other.
LOCK_CLASS = 74211
# How long a second deploy waits for the first one's migrations before giving up.
LOCK_WAIT_SECONDS = 600
# Each migration statement: never wait long behind a running query, never run forever.
LOCK_TIMEOUT = "10s"
STATEMENT_TIMEOUT = "10min"


class MigrationLockTimeout(RuntimeError):
    """Another migration run held the ledger's lock longer than we were willing to wait."""


def _script_location() -> str:
    # Installed as bridge.migrations from the top-level migrations/ folder, so looked up
    # by name: the source tree has no such package for a type checker to follow.
    migrations = importlib.import_module("bridge.migrations")
    return str(Path(str(migrations.__file__)).parent)


def alembic_config(url: str, *, lock_wait_seconds: float | None = None,
                   on_step: Callable[[Any], None] | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", _script_location())
    # ConfigParser treats % as interpolation; URLs may carry percent-escapes.
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["lock_wait_seconds"] = lock_wait_seconds or LOCK_WAIT_SECONDS
    config.attributes["on_step"] = on_step
    return config


def context_options(connection: Connection) -> dict[str, Any]:
    """The options env.py runs migrations with and `check` compares with: one definition,
    so the check sees the schema exactly as the migrations see it."""
    return {
        "target_metadata": metadata,  # carries the naming convention
        "compare_type": True,
        "render_as_batch": connection.dialect.name == "sqlite",  # SQLite alters by copying
    }


def upgrade(url: str, revision: str = "head", *, lock_wait_seconds: float | None = None,
            on_step: Callable[[Any], None] | None = None) -> None:
    """`on_step(step)` is called inside each migration's transaction, after it ran."""
    config = alembic_config(url, lock_wait_seconds=lock_wait_seconds, on_step=on_step)
    command.upgrade(config, revision)


def downgrade(url: str, revision: str = "base", *,
              lock_wait_seconds: float | None = None) -> None:
    command.downgrade(alembic_config(url, lock_wait_seconds=lock_wait_seconds), revision)


# ---------------------------------------------------------------- the migration lock


def lock_key(connection: Connection) -> int:
    schema = connection.execute(text("SELECT current_schema()")).scalar() or ""
    return (LOCK_CLASS << 32) | zlib.crc32(schema.encode())


@contextmanager
def migration_lock(connection: Connection,
                   wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Holds a session-level advisory lock and the session's timeouts for a whole run on
    PostgreSQL: a transaction-level lock would end with the first migration's commit.
    Leaves no transaction open, so Alembic can run each migration in its own."""
    if connection.dialect.name != "postgresql":
        yield
        return
    key = lock_key(connection)
    previous = _session_settings(connection)
    try:
        _acquire(connection, key, wait_seconds)
        try:
            _set_session(connection, LOCK_TIMEOUT, STATEMENT_TIMEOUT)
            connection.commit()
            yield
            connection.commit()
        finally:
            _end_failed_transaction(connection)
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        _end_failed_transaction(connection)
        _set_session(connection, *previous)
        connection.commit()


def _acquire(connection: Connection, key: int, wait_seconds: float) -> None:
    # lock_timeout bounds the wait for an advisory lock too, and the lock queue is first
    # come, first served; no statement_timeout may cut the wait shorter.
    _set_session(connection, f"{int(wait_seconds * 1000)}ms", "0")
    try:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        connection.rollback()
        raise MigrationLockTimeout(
            f"another `{bridge_command()} db upgrade` has held the ledger's migration lock for over "
            f"{wait_seconds:g} s (see pg_locks, advisory key {key}); let it finish, "
            f"or stop it, then run `{bridge_command()} db upgrade` again") from None


def _session_settings(connection: Connection) -> tuple[str, str]:
    row = connection.execute(text(
        "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")).one()
    connection.commit()
    return row[0], row[1]


def _set_session(connection: Connection, lock_timeout: str, statement_timeout: str) -> None:
    connection.execute(
        text("SELECT set_config('lock_timeout', :lock, false), "
             "set_config('statement_timeout', :statement, false)"),
        {"lock": lock_timeout, "statement": statement_timeout})


def _end_failed_transaction(connection: Connection) -> None:
    # After a failed migration the unlock must not run in an aborted transaction.
    if connection.in_transaction():
        connection.rollback()


# ---------------------------------------------------------------- revisions and the check


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def differences(url: str) -> list[Any]:
    """What the tables module has that the migrated database has not (or the reverse),
    as Alembic's autogenerate sees it. Empty when models and database agree."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=context_options(connection))
            diffs: list[Any] = compare_metadata(context, metadata)
            return diffs
    finally:
        engine.dispose()


@dataclass
class CheckReport:
    current: str | None
    head: str | None
    problems: list[str] = field(default_factory=list)
    advice: str = ""


def check(url: str) -> CheckReport:
    """The ledger is at the newest migration, and its tables are what the models say."""
    report = CheckReport(current_revision(url), head_revision(url))
    if report.current != report.head:
        report.problems.append(f"ledger at revision {report.current}, newest is {report.head}")
        report.advice = f"run `{bridge_command()} db upgrade`"
        return report  # an old ledger differs from the models by design
    report.problems = [describe(diff) for diff in _flatten(differences(url))]
    if report.problems:
        report.advice = (
            "the database is not what the migrations make: undo any change made to it by "
            "hand (or restore it from a backup); if the models changed, add a migration "
            f"for the change and run `{bridge_command()} db upgrade`")
    return report


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    # Alembic groups the changes of one column in a list.
    flat: list[tuple[Any, ...]] = []
    for diff in diffs:
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


_IN_MODELS = "is in the models but not in the database"
_IN_DATABASE = "is in the database but not in the models"


def describe(diff: tuple[Any, ...]) -> str:
    """One autogenerate difference in words. `add_*` is what the models have and the
    database lacks; `remove_*` the reverse."""
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        return f"table {diff[1].name} {_side(kind)}"
    if kind in ("add_column", "remove_column"):
        return f"column {diff[2]}.{diff[3].name} {_side(kind)}"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        return f"index {index.name} on {_columns(index.table.name, index)} {_side(kind)}"
    if kind in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        constraint = diff[1]
        what = "foreign key" if kind.endswith("_fk") else _constraint_kind(constraint)
        return (f"{what} {constraint.name} on {_columns(constraint.table.name, constraint)} "
                f"{_side(kind)}")
    if kind == "modify_type":
        _, _, table, column, _, existing, wanted = diff
        return (f"column {table}.{column} has type {existing} in the database, "
                f"{wanted} in the models")
    if kind == "modify_nullable":
        _, _, table, column, _, existing, wanted = diff
        return (f"column {table}.{column} is {_nullable(existing)} in the database, "
                f"{_nullable(wanted)} in the models")
    if kind == "modify_default":
        _, _, table, column = diff[:4]
        return f"column {table}.{column} has another server default in the database"
    return f"{kind.replace('_', ' ')}: {diff[1:]}"


def _side(kind: str) -> str:
    return _IN_MODELS if kind.startswith("add") else _IN_DATABASE


def _columns(table: str, item: Index | ColumnCollectionConstraint) -> str:
    return f"{table}({', '.join(column.name for column in item.columns)})"


def _constraint_kind(constraint: Constraint) -> str:
    name = type(constraint).__name__
    return {"UniqueConstraint": "unique constraint", "CheckConstraint": "check constraint",
            "PrimaryKeyConstraint": "primary key"}.get(name, "constraint")


def _nullable(value: bool) -> str:
    return "nullable" if value else "NOT NULL"
