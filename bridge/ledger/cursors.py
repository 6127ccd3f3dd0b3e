"""How far each flow has read its source, per storefront."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bridge.ledger.tables import Cursor, session_now


def get_cursor(session: Session, storefront: str, flow: str) -> Cursor | None:
    return session.get(Cursor, (storefront, flow))


def set_cursor(session: Session, storefront: str, flow: str, position: datetime) -> None:
    cursor = session.get(Cursor, (storefront, flow))
    now = session_now(session)
    if cursor is None:
        session.add(Cursor(storefront=storefront, flow=flow, position=position, last_run_at=now))
    else:
        # Never backwards: a slow run finishing after a faster one must not rewind.
        if position > cursor.position:
            cursor.position = position
        cursor.last_run_at = now
