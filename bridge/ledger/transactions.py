"""The ledger's session factory: one transaction per block, on the caller's terms."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event, inspect
from sqlalchemy.orm import Mapper, Session, class_mapper, sessionmaker

from bridge.ledger.tables import utcnow


class Ledger:
    """Owns the session factory; `transaction()` commits on success, rolls back on error.

    `clock` is the ledger's own time: every time a ledger function stamps (state changes,
    acceptance, cursors, leases, flags, the tables' created/updated times) is read from it
    through `session.info["clock"]`, which `transaction()` sets on each session. The
    columns' `default=utcnow` only serves rows written outside a Ledger session."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", _stamp_from_clock)
        self.is_postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self._sessions()
        session.info["clock"] = self.clock
        try:
            with session.begin():
                yield session
        finally:
            session.close()


def _stamp_from_clock(session: Session, _context: Any, _instances: Any) -> None:
    """Fill the time columns the ORM would default (new rows) or set on update (changed
    rows) from the session's clock, unless the caller set them."""
    clock: Callable[[], datetime] | None = session.info.get("clock")
    if clock is None:
        return
    now: datetime | None = None
    for obj in session.new:
        for attr in _defaulted(obj):
            if getattr(obj, attr) is None:
                now = now or clock()
                setattr(obj, attr, now)
    for obj in session.dirty:
        updated = _on_update(obj)
        if not updated or not session.is_modified(obj, include_collections=False):
            continue
        state = inspect(obj)
        for attr in updated:
            if not state.attrs[attr].history.has_changes():
                now = now or clock()
                setattr(obj, attr, now)


def _defaulted(obj: Any) -> list[str]:
    return _time_columns(type(obj))[0]


def _on_update(obj: Any) -> list[str]:
    return _time_columns(type(obj))[1]


_columns: dict[type, tuple[list[str], list[str]]] = {}


def _time_columns(cls: type) -> tuple[list[str], list[str]]:
    """The attributes of `cls` whose column default / onupdate is `utcnow`."""
    found = _columns.get(cls)
    if found is None:
        defaulted: list[str] = []
        updated: list[str] = []
        mapper: Mapper[Any] = class_mapper(cls)
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if _is_utcnow(getattr(column, "default", None)):
                defaulted.append(prop.key)
            if _is_utcnow(getattr(column, "onupdate", None)):
                updated.append(prop.key)
        found = _columns[cls] = (defaulted, updated)
    return found


def _is_utcnow(default: Any) -> bool:
    if default is None or not getattr(default, "is_callable", False):
        return False
    fn = default.arg
    return fn is utcnow or getattr(fn, "__wrapped__", None) is utcnow
