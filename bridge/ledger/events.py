"""The event log: every state change and notable step of an order or inbound plan."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.ledger.tables import Event


def record_event(
    session: Session,
    storefront: str,
    order_id: int | None,
    kind: str,
    from_state: str = "",
    to_state: str = "",
    message: str = "",
    *,
    inbound_plan_id: int | None = None,
) -> None:
    session.add(
        Event(
            storefront=storefront,
            order_id=order_id,
            inbound_plan_id=inbound_plan_id,
            kind=kind,
            from_state=from_state,
            to_state=to_state,
            message=message,
        )
    )


def has_event(session: Session, order_id: int, kind: str, message: str) -> bool:
    return session.scalar(
        select(Event.id).where(Event.order_id == order_id, Event.kind == kind,
                               Event.message == message).limit(1)
    ) is not None


def order_events(session: Session, order_id: int) -> list[Event]:
    """An order's events, oldest first."""
    return list(session.scalars(select(Event).where(Event.order_id == order_id).order_by(Event.id)))


def plan_events(session: Session, plan_id: int) -> list[Event]:
    """An inbound plan's events, oldest first."""
    return list(session.scalars(select(Event).where(Event.inbound_plan_id == plan_id)
                                .order_by(Event.id)))
