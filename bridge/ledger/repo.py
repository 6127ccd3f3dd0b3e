"""Queries and writes on the ledger, each on a caller's Session so the caller decides
what commits together. State changes go through `transition`, which checks the state
machine and writes the event log in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from bridge.domain.model import CartOrder
from bridge.domain.states import NOT_YET_SUBMITTED, OrderState, check_transition
from bridge.ledger.tables import (
    Cursor,
    Event,
    Lease,
    Order,
    OrderLine,
    StockLevel,
    Storefront,
    utcnow,
)


class Ledger:
    """Owns the session factory; `transaction()` commits on success, rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.is_postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self):
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()


# ---------------------------------------------------------------- orders

def find_order(session: Session, storefront: str, cart_order_id: str, *,
               lock: bool = False) -> Order | None:
    """With `lock`, the row is locked for this transaction (Postgres), so a decision made
    on its state cannot be overwritten by, or overwrite, another worker's change."""
    query = select(Order).where(Order.storefront == storefront, Order.cart_order_id == cart_order_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def find_orders(session: Session, storefront: str, cart_order_ids: Sequence[str], *,
                lock: bool = False) -> dict[str, Order]:
    """The rows of several cart orders in one query (a page of a poll), locked like
    `find_order` does; locks are taken in id order so two callers cannot deadlock."""
    if not cart_order_ids:
        return {}
    query = (select(Order)
             .where(Order.storefront == storefront, Order.cart_order_id.in_(set(cart_order_ids)))
             .order_by(Order.id))
    if lock:
        query = query.with_for_update()
    return {row.cart_order_id: row for row in session.scalars(query)}


def get_order(session: Session, order_id: int, *, lock: bool = False) -> Order | None:
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def add_order(session: Session, storefront: str, order: CartOrder, state: OrderState) -> Order:
    row = Order(
        storefront=storefront,
        cart_order_id=order.order_id,
        number=order.number,
        snapshot=order.snapshot(),
        content_hash=order.content_hash(),
        state=state.value,
        cart_updated_at=order.updated_at,
    )
    session.add(row)
    session.flush()
    record_event(session, storefront, row.id, "recorded", to_state=state.value,
                 message=f"order {order.number} recorded from the cart")
    return row


def update_snapshot(row: Order, order: CartOrder) -> None:
    row.snapshot = order.snapshot()
    row.content_hash = order.content_hash()
    row.number = order.number
    row.cart_updated_at = order.updated_at


def transition(
    session: Session,
    row: Order,
    target: OrderState,
    kind: str,
    message: str = "",
    *,
    reason: str = "",
) -> None:
    """Move `row` to `target`, logging the change. `reason` is kept for needs_attention."""
    current = row.state
    check_transition(current, target.value)
    now = utcnow()
    row.state = target.value
    row.state_changed_at = now
    if target is OrderState.NEEDS_ATTENTION:
        row.attention_reason = reason or "unspecified"
        row.last_error = message
    elif target is not OrderState.NEEDS_ATTENTION and current == OrderState.NEEDS_ATTENTION:
        row.attention_reason = ""
    record_event(session, row.storefront, row.id, kind, current, target.value, message)


def claim_orders(
    ledger: Ledger,
    session: Session,
    storefront: str,
    states: Iterable[OrderState],
    limit: int,
    *,
    older_than: datetime | None = None,
) -> list[Order]:
    """Rows in `states`, locked for this transaction. On Postgres, rows another worker
    holds are skipped; on SQLite the write transaction already serialises workers."""
    query = (
        select(Order)
        .where(Order.storefront == storefront, Order.state.in_([s.value for s in states]))
        .order_by(Order.state_changed_at, Order.id)
        .limit(limit)
    )
    if older_than is not None:
        query = query.where(Order.state_changed_at < older_than)
    if ledger.is_postgres:
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def replace_lines(session: Session, row: Order, lines: Sequence) -> None:
    session.query(OrderLine).filter(OrderLine.order_id == row.id).delete()
    for line in lines:
        session.add(
            OrderLine(
                order_id=row.id,
                line_id=line.line_id,
                cart_sku=line.cart_sku,
                seller_sku=line.seller_sku,
                quantity=line.quantity,
            )
        )


def units_not_yet_at_amazon(session: Session, storefront: str) -> dict[str, int]:
    """Seller SKU → units of orders bridge holds but Amazon does not yet: Amazon's
    fulfillable count still includes them, so the cart must not sell them again."""
    rows = session.execute(
        select(OrderLine.seller_sku, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.storefront == storefront,
            Order.state.in_([s.value for s in NOT_YET_SUBMITTED]),
        )
        .group_by(OrderLine.seller_sku)
    )
    return {sku: int(units or 0) for sku, units in rows}


def counts_by_state(session: Session, storefront: str) -> dict[str, int]:
    rows = session.execute(
        select(Order.state, func.count()).where(Order.storefront == storefront).group_by(Order.state)
    )
    return {state: count for state, count in rows}


# ---------------------------------------------------------------- events

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


# ---------------------------------------------------------------- cursors

def get_cursor(session: Session, storefront: str, flow: str) -> Cursor | None:
    return session.get(Cursor, (storefront, flow))


def set_cursor(session: Session, storefront: str, flow: str, position: datetime) -> None:
    cursor = session.get(Cursor, (storefront, flow))
    now = utcnow()
    if cursor is None:
        session.add(Cursor(storefront=storefront, flow=flow, position=position, last_run_at=now))
    else:
        # Never backwards: a slow run finishing after a faster one must not rewind.
        if position > cursor.position:
            cursor.position = position
        cursor.last_run_at = now


# ---------------------------------------------------------------- leases

def acquire_lease(ledger: Ledger, name: str, holder: str, seconds: float) -> bool:
    """Take the lease `name` for `seconds` unless someone else holds an unexpired one."""
    now = utcnow()
    with ledger.transaction() as session:
        dialect = session.get_bind().dialect.name
        insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
        session.execute(insert(Lease).values(name=name, holder="", until=now)
                        .on_conflict_do_nothing(index_elements=["name"]))
        taken = session.execute(
            update(Lease)
            .where(Lease.name == name, (Lease.until <= now) | (Lease.holder == holder))
            .values(holder=holder, until=now + timedelta(seconds=seconds))
        )
        return taken.rowcount == 1


def release_lease(ledger: Ledger, name: str, holder: str) -> None:
    with ledger.transaction() as session:
        session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                        .values(until=utcnow()))


@contextmanager
def lease(ledger: Ledger, name: str, seconds: float):
    """Yields True when this caller holds the lease for the block, False when another
    does (the caller then skips its run: one is already doing the work)."""
    holder = uuid.uuid4().hex
    held = acquire_lease(ledger, name, holder, seconds)
    try:
        yield held
    finally:
        if held:
            release_lease(ledger, name, holder)


# ---------------------------------------------------------------- storefront switches

def lock_storefront(session: Session, name: str) -> Storefront:
    """Serialise one flow's writes per storefront for the rest of this transaction
    (two workers ingesting the same storefront would otherwise race on new rows)."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    # Create the row if missing without racing another worker doing the same.
    session.execute(
        insert(Storefront)
        .values(name=name, paused=False, paused_reason="", updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.scalar(select(Storefront).where(Storefront.name == name).with_for_update())


def is_paused(session: Session, name: str) -> str | None:
    row = session.get(Storefront, name)
    return row.paused_reason if row is not None and row.paused else None


def pause_storefront(session: Session, name: str, reason: str) -> None:
    row = lock_storefront(session, name)
    row.paused, row.paused_reason, row.updated_at = True, reason, utcnow()
    record_event(session, name, None, "storefront_paused", message=reason)


def resume_storefront(session: Session, name: str) -> None:
    row = lock_storefront(session, name)
    row.paused, row.paused_reason, row.updated_at = False, "", utcnow()
    record_event(session, name, None, "storefront_resumed")


# ---------------------------------------------------------------- stock


def stock_levels(session: Session, storefront: str) -> dict[str, StockLevel]:
    rows = session.scalars(select(StockLevel).where(StockLevel.storefront == storefront))
    return {row.seller_sku: row for row in rows}
