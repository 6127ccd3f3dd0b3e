"""Per-storefront switches: the row that serialises a flow's writes, and pausing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.ledger.events import record_event
from bridge.ledger.tables import Storefront, session_now
from bridge.ledger.upsert import insert_for


def lock_storefront(session: Session, name: str) -> Storefront:
    """Serialise one flow's writes per storefront for the rest of this transaction
    (two workers ingesting the same storefront would otherwise race on new rows)."""
    # Create the row if missing without racing another worker doing the same.
    session.execute(
        insert_for(session, Storefront)
        .values(name=name, paused=False, paused_reason="", updated_at=session_now(session))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.scalars(select(Storefront).where(Storefront.name == name).with_for_update()).one()


def is_paused(session: Session, name: str) -> str | None:
    row = session.get(Storefront, name)
    return row.paused_reason if row is not None and row.paused else None


def pause_storefront(session: Session, name: str, reason: str) -> None:
    row = lock_storefront(session, name)
    row.paused, row.paused_reason, row.updated_at = True, reason, session_now(session)
    record_event(session, name, None, "storefront_paused", message=reason)


def resume_storefront(session: Session, name: str) -> None:
    row = lock_storefront(session, name)
    row.paused, row.paused_reason, row.updated_at = False, "", session_now(session)
    record_event(session, name, None, "storefront_resumed")
