"""Customer returns in the ledger: each return bridge asked Amazon for, its units, and
whether the shop has been told of each authorization and of the units' arrival."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from bridge.ledger.tables import Order, Return, ReturnItem, session_now

# Return states.
REQUESTED = "requested"    # saved before the call; resent with the same ids until known
AUTHORIZED = "authorized"  # Amazon took at least one unit
REFUSED = "refused"        # Amazon took none
RECEIVED = "received"      # every unit taken is Processed and the shop was told
OPEN = (REQUESTED, AUTHORIZED)
INVALID = "invalid"        # a unit's status when Amazon would not take it


@dataclass(frozen=True)
class NewUnit:
    seller_return_item_id: str
    line_id: str
    cart_sku: str
    seller_sku: str
    item_id: str
    amazon_shipment_id: str


def next_sequence(session: Session, order_id: int) -> int:
    last = session.scalar(select(func.max(Return.sequence)).where(Return.order_id == order_id))
    return (last or 0) + 1


def add_return(session: Session, order: Order, *, sequence: int, reason_code: str, reason: str,
               comment: str, units: Sequence[NewUnit]) -> Return:
    row = Return(storefront=order.storefront, order_id=order.id, sequence=sequence,
                 state=REQUESTED, reason_code=reason_code, reason=reason, comment=comment,
                 authorizations={}, last_error="", requested_at=session_now(session))
    session.add(row)
    session.flush()
    session.add_all(ReturnItem(return_id=row.id, seller_return_item_id=unit.seller_return_item_id,
                               line_id=unit.line_id, cart_sku=unit.cart_sku,
                               seller_sku=unit.seller_sku, item_id=unit.item_id,
                               amazon_shipment_id=unit.amazon_shipment_id)
                    for unit in units)
    session.flush()
    return row


def get_return(session: Session, return_id: int, *, lock: bool = False) -> Return | None:
    query = select(Return).where(Return.id == return_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def return_items(session: Session, return_id: int) -> list[ReturnItem]:
    return list(session.scalars(select(ReturnItem).where(ReturnItem.return_id == return_id)
                                .order_by(ReturnItem.id)))


def order_returns(session: Session, order_id: int) -> list[Return]:
    return list(session.scalars(select(Return).where(Return.order_id == order_id)
                                .order_by(Return.sequence)))


def units_in_returns(session: Session, order_id: int) -> dict[tuple[str, str], int]:
    """(amazon shipment id, item id) → units of this order's returns that Amazon took
    or may still take (refused units left out)."""
    rows = session.execute(
        select(ReturnItem.amazon_shipment_id, ReturnItem.item_id, func.count())
        .join(Return, Return.id == ReturnItem.return_id)
        .where(Return.order_id == order_id, ReturnItem.status != INVALID)
        .group_by(ReturnItem.amazon_shipment_id, ReturnItem.item_id))
    return {(shipment, item): int(count) for shipment, item, count in rows}


def open_returns(session: Session, storefront: str, states: Iterable[str] = OPEN,
                 limit: int = 100, after_id: int = 0) -> list[tuple[Return, Order]]:
    """Returns still to follow, oldest first (those after `after_id`), with their order."""
    return [(row, order) for row, order in session.execute(
        select(Return, Order).join(Order, Order.id == Return.order_id)
        .where(Return.storefront == storefront, Return.state.in_(list(states)),
               Return.id > after_id)
        .order_by(Return.id).limit(limit))]


def storefronts_with_open_returns(session: Session, storefronts: Iterable[str]) -> set[str]:
    """Of `storefronts`, those with a return still to follow (one indexed query)."""
    names = sorted(set(storefronts))
    if not names:
        return set()
    return set(session.scalars(select(Return.storefront).distinct()
                               .where(Return.storefront.in_(names),
                                      Return.state.in_(list(OPEN)))))


def open_count(session: Session, storefront: str) -> int:
    return session.scalar(select(func.count()).select_from(Return).where(
        Return.storefront == storefront, Return.state.in_(list(OPEN)))) or 0


def has_open_returns(session: Session, storefront: str) -> bool:
    return bool(session.scalar(select(exists().where(Return.storefront == storefront,
                                                     Return.state.in_(list(OPEN))))))


def list_returns(session: Session, storefront: str | None, state: str | None,
                 limit: int) -> list[tuple[Return, Order]]:
    """The newest returns first, with their order."""
    query = select(Return, Order).join(Order, Order.id == Return.order_id)
    if storefront:
        query = query.where(Return.storefront == storefront)
    if state:
        query = query.where(Return.state == state)
    return [(row, order) for row, order in
            session.execute(query.order_by(Return.id.desc()).limit(limit))]


def stamp(items: Iterable[ReturnItem], field: str, at: datetime) -> None:
    """Set `authorized_written_at` or `received_written_at` on the units."""
    for item in items:
        setattr(item, field, at)
