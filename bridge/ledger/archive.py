"""The archive of finished orders: each one's row, lines, packages, events and flags moved
into `archived_orders` as one JSON record, found again by storefront and cart order id
(unique), number or sellerFulfillmentOrderId. The decisions (which orders, how old, in
what batches) are `bridge.services.retention`'s."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table, delete, exists, func, insert, or_, select, text
from sqlalchemy.orm import Session

from bridge.ledger import returns
from bridge.ledger.events import record_event
from bridge.ledger.tables import (
    ArchivedOrder,
    Event,
    Flag,
    Order,
    OrderLine,
    Package,
    Return,
    ShopCancel,
    UTCDateTime,
)

# What an order's record holds besides its own row: name in the record → table.
_CHILDREN: dict[str, Table] = {
    "lines": OrderLine.__table__,  # type: ignore[dict-item]
    "packages": Package.__table__,  # type: ignore[dict-item]
    "events": Event.__table__,  # type: ignore[dict-item]
    "flags": Flag.__table__,  # type: ignore[dict-item]
}
_ORDERS: Table = Order.__table__  # type: ignore[assignment]
_ARCHIVE: Table = ArchivedOrder.__table__  # type: ignore[assignment]


def _archivable(storefront: str, state: str, before: datetime) -> list[Any]:
    """An order in `state` unchanged since before `before`, with no tracking and no shop
    cancel still to write, no return still open and no open watchdog flag: nothing in
    bridge will look at it again. (A shop cancel's history is in the events; its row goes
    with the order.)"""
    unpushed = exists().where(Package.order_id == Order.id, Package.pushed_at.is_(None))
    unwritten = exists().where(ShopCancel.order_id == Order.id, ShopCancel.done_at.is_(None))
    open_flag = exists().where(Flag.order_id == Order.id, Flag.cleared_at.is_(None))
    open_return = exists().where(Return.order_id == Order.id,
                                 Return.state.in_(list(returns.OPEN)))
    return [Order.storefront == storefront, Order.state == state,
            Order.state_changed_at < before, ~unpushed, ~unwritten, ~open_flag, ~open_return]


def archivable_batch(session: Session, storefront: str, state: str, before: datetime,
                     limit: int, *, skip_locked: bool,
                     since: datetime | None = None) -> list[RowMapping]:
    """Up to `limit` archivable orders in one finished `state`, the longest finished first
    (the order of ix_orders_work, so no sort), locked for this transaction. `since`, the
    last batch's newest, starts the index scan past the entries earlier batches deleted."""
    query = (select(_ORDERS).where(*_archivable(storefront, state, before))
             .order_by(Order.state_changed_at, Order.id).limit(limit))
    if since is not None:
        query = query.where(Order.state_changed_at >= since)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).mappings())


def archivable_count(session: Session, storefront: str, state: str, before: datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(_ORDERS).where(*_archivable(storefront, state, before))
    ) or 0


def move_to_archive(session: Session, orders: Sequence[RowMapping], archived_at: datetime) -> int:
    """Each order's record into the archive and its rows out of the live tables, in the
    caller's transaction. Returns how many orders moved."""
    if not orders:
        return 0
    ids = [order["id"] for order in orders]
    children: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for name, table in _CHILDREN.items():
        by_order: dict[int, list[dict[str, Any]]] = {}
        for row in session.execute(select(table).where(table.c.order_id.in_(ids))
                                   .order_by(table.c.id)).mappings():
            by_order.setdefault(row["order_id"], []).append(_plain(row))
        children[name] = by_order
    session.execute(insert(_ARCHIVE), [
        {"storefront": order["storefront"], "cart_order_id": order["cart_order_id"],
         "number": order["number"], "seller_fulfillment_order_id": order["seller_fulfillment_order_id"],
         "state": order["state"], "finished_at": order["state_changed_at"], "archived_at": archived_at,
         "record": {"order": _plain(order),
                    **{name: rows.get(order["id"], []) for name, rows in children.items()}}}
        for order in orders
    ])
    for table in _CHILDREN.values():
        session.execute(delete(table).where(table.c.order_id.in_(ids)))
    session.execute(delete(_ORDERS).where(_ORDERS.c.id.in_(ids)))
    return len(ids)


def refresh_statistics(session: Session) -> None:
    """PostgreSQL's planner statistics for the tables an archive run changed: until
    autovacuum's next look, a large run leaves the archive looking empty to the planner,
    which then scans it (hundreds of ms at a million rows) instead of using its indexes."""
    for table in (_ARCHIVE, _ORDERS, *_CHILDREN.values()):
        session.execute(text(f"ANALYZE {table.name}"))


# ---------------------------------------------------------------- finding archived orders

def archived_orders(session: Session, storefront: str, cart_order_ids: Iterable[str], *,
                    lock: bool = False) -> list[ArchivedOrder]:
    """The archived orders among these cart orders (the unique key serves it)."""
    ids = set(cart_order_ids)
    if not ids:
        return []
    query = (select(ArchivedOrder)
             .where(ArchivedOrder.storefront == storefront, ArchivedOrder.cart_order_id.in_(ids))
             .order_by(ArchivedOrder.id))
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def archived_matching(session: Session, reference: str, storefront: str | None = None,
                      limit: int = 2) -> list[ArchivedOrder]:
    """Archived orders whose cart order id, number or sellerFulfillmentOrderId is
    `reference` (at most `limit`)."""
    query = select(ArchivedOrder).where(or_(
        ArchivedOrder.cart_order_id == reference,
        ArchivedOrder.number == reference,
        ArchivedOrder.seller_fulfillment_order_id == reference,
    ))
    if storefront:
        query = query.where(ArchivedOrder.storefront == storefront)
    return list(session.scalars(query.limit(limit)))


def restore(session: Session, archived: ArchivedOrder) -> Order:
    """The archived order back in the live tables with its lines, packages, events and
    flags (new ids: SQLite may have given the old ones away), and out of the archive."""
    record = archived.record
    order = Order(**_typed(_ORDERS, record["order"]))
    session.add(order)
    session.flush()
    classes: dict[str, type[Any]] = {"lines": OrderLine, "packages": Package, "events": Event,
                                     "flags": Flag}
    for name, cls in classes.items():
        for item in record.get(name, []):
            session.add(cls(**{**_typed(_CHILDREN[name], item), "order_id": order.id}))
    record_event(session, order.storefront, order.id, "restored",
                 message=f"back from the archive (archived {archived.archived_at.date().isoformat()}): "
                         "the cart showed the order again")
    session.delete(archived)
    session.flush()
    return order


def _plain(row: RowMapping) -> dict[str, Any]:
    """A row as JSON values: times as ISO text, the rest as stored."""
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in row.items()}


def _typed(table: Table, item: dict[str, Any]) -> dict[str, Any]:
    """A record's row as column values again (without its old id); keys the table no
    longer has are dropped, columns the record lacks take their defaults."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name == "id" or column.name not in item:
            continue
        value = item[column.name]
        if isinstance(column.type, UTCDateTime) and value is not None:
            value = datetime.fromisoformat(value)
        values[column.name] = value
    return values
