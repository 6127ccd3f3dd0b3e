"""The dialect's INSERT … ON CONFLICT, for rows two workers may create at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_for(session: Session, table: Any) -> Any:
    """An insert with `on_conflict_do_nothing` for the session's database (both
    dialects spell it alike, but each has its own construct)."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    return insert(table)
