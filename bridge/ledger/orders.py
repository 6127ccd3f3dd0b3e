"""Order rows: finding, recording, claiming and moving them through the state machine.
State changes go through `transition`, which checks the state machine and writes the
event log in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from bridge.domain.mapping import MappedLine
from bridge.domain.model import CartOrder
from bridge.domain.states import AT_AMAZON_OPEN, TERMINAL, OrderState, check_transition
from bridge.ledger import archive
from bridge.ledger.events import record_event
from bridge.ledger.tables import Order, OrderLine, Package, session_now
from bridge.ledger.transactions import Ledger


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
    `find_order` does; locks are taken in id order so two callers cannot deadlock.

    An archived order among them is brought back to the live tables first: the cart showed
    it again (an edit, a refund), and it must be seen as the finished order it is, never
    recorded and submitted anew. The lookup costs one indexed query, and only when some
    orders are not live (new ones)."""
    if not cart_order_ids:
        return {}
    query = (select(Order)
             .where(Order.storefront == storefront, Order.cart_order_id.in_(set(cart_order_ids)))
             .order_by(Order.id))
    if lock:
        query = query.with_for_update()
    found = {row.cart_order_id: row for row in session.scalars(query)}
    missing = set(cart_order_ids) - found.keys()
    if missing:
        for archived in archive.archived_orders(session, storefront, missing, lock=lock):
            found[archived.cart_order_id] = archive.restore(session, archived)
    return found


def get_order(session: Session, order_id: int, *, lock: bool = False) -> Order | None:
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def get_orders(session: Session, order_ids: Sequence[int]) -> dict[int, Order]:
    """Several rows by id in one query (a batch written together)."""
    if not order_ids:
        return {}
    return {row.id: row for row in session.scalars(select(Order).where(Order.id.in_(set(order_ids))))}


def orders_matching(session: Session, reference: str, storefront: str | None = None,
                    limit: int = 2) -> list[Order]:
    """Orders whose ledger id, cart order id, number or sellerFulfillmentOrderId is
    `reference` (at most `limit`: the caller only needs to tell one from several)."""
    query = select(Order)
    if storefront:
        query = query.where(Order.storefront == storefront)
    conditions = [
        Order.cart_order_id == reference,
        Order.number == reference,
        Order.seller_fulfillment_order_id == reference,
    ]
    if reference.isdigit():
        conditions.append(Order.id == int(reference))
    return list(session.scalars(query.where(or_(*conditions)).limit(limit)))


def latest_orders(session: Session, storefront: str | None, state: str | None,
                  limit: int) -> list[Order]:
    """The newest orders first, optionally of one storefront and state."""
    query = select(Order).order_by(Order.id.desc()).limit(limit)
    if storefront:
        query = query.where(Order.storefront == storefront)
    if state:
        query = query.where(Order.state == state)
    return list(session.scalars(query))


def add_order(session: Session, storefront: str, order: CartOrder, state: OrderState) -> Order:
    return add_orders(session, storefront, [order], state)[order.order_id]


def add_orders(session: Session, storefront: str, orders: Sequence[CartOrder],
               state: OrderState) -> dict[str, Order]:
    """New rows for a page's new orders, inserted with one flush (their ids are needed
    for the lines and events written next)."""
    rows = {}
    for order in orders:
        snapshot = order.snapshot()
        rows[order.order_id] = Order(
            storefront=storefront,
            cart_order_id=order.order_id,
            number=order.number,
            snapshot=snapshot,
            content_hash=order.content_hash(snapshot),
            state=state.value,
            cart_updated_at=order.updated_at,
        )
    session.add_all(rows.values())
    session.flush()
    for order in orders:
        record_event(session, storefront, rows[order.order_id].id, "recorded", to_state=state.value,
                     message=f"order {order.number} recorded from the cart")
    return rows


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
    now = session_now(session)
    row.state = target.value
    row.state_changed_at = now
    if target is OrderState.NEEDS_ATTENTION:
        row.attention_reason = reason or "unspecified"
        row.last_error = message
    elif current == OrderState.NEEDS_ATTENTION:
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


def replace_lines(session: Session, row: Order, lines: Sequence[MappedLine], *, new: bool = False) -> None:
    """The order's items become `lines` (a `new` row has none to delete yet)."""
    if not new:
        session.query(OrderLine).filter(OrderLine.order_id == row.id).delete()
    for line in lines:
        session.add(
            OrderLine(
                order_id=row.id,
                line_id=line.line_id,
                cart_sku=line.cart_sku,
                seller_sku=line.seller_sku,
                quantity=line.quantity,
                item_id=getattr(line, "item_id", ""),
                kit_units=getattr(line, "kit_units", 1),
            )
        )


def order_lines(session: Session, order_id: int) -> list[OrderLine]:
    """The items recorded for an order (a kit's line has one per component)."""
    return list(session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)))


# Every state but the finished ones: the few rows that still have work.
OPEN_STATES = tuple(state.value for state in OrderState if state not in TERMINAL)


def counts_by_state(session: Session, storefront: str) -> dict[str, int]:
    """Orders per open state. Finished ones are left out: they are nearly all of a
    ledger's history, and counting them would read it all on every sweep and status;
    the open ones are found through ix_orders_work (state, storefront)."""
    rows = session.execute(
        select(Order.state, func.count())
        .where(Order.state.in_(OPEN_STATES), Order.storefront == storefront)
        .group_by(Order.state)
    )
    return {state: count for state, count in rows}


def open_by_marketplace(session: Session, storefront: str) -> dict[str, int]:
    """Open orders per marketplace ("": the home one)."""
    rows = session.execute(
        select(Order.marketplace_id, func.count())
        .where(Order.state.in_(OPEN_STATES), Order.storefront == storefront)
        .group_by(Order.marketplace_id)
    )
    return {marketplace: count for marketplace, count in rows}


def has_orders(session: Session, storefront: str, states: Iterable[OrderState]) -> bool:
    return session.scalar(
        select(Order.id).where(Order.storefront == storefront,
                               Order.state.in_([s.value for s in states])).limit(1)
    ) is not None


def needing_attention(session: Session, storefront: str, limit: int) -> list[Order]:
    """Orders waiting for a person, the most recently held first."""
    return list(session.scalars(
        select(Order)
        .where(Order.storefront == storefront, Order.state == OrderState.NEEDS_ATTENTION.value)
        .order_by(Order.state_changed_at.desc())
        .limit(limit)
    ))


def quiet_at_amazon_count(session: Session, storefront: str, before: datetime) -> int:
    """Orders Amazon accepted or is processing whose state has not changed since `before`."""
    return session.scalar(
        select(func.count()).where(
            Order.storefront == storefront,
            Order.state.in_([OrderState.ACCEPTED.value, OrderState.PROCESSING.value]),
            Order.state_changed_at < before,
        )
    ) or 0


def accepted_before(session: Session, storefront: str, before: datetime) -> list[Order]:
    """Orders Amazon accepted before `before` and has not shipped yet."""
    return list(session.scalars(select(Order).where(
        Order.storefront == storefront,
        Order.state.in_([OrderState.ACCEPTED.value, OrderState.PROCESSING.value]),
        Order.accepted_at < before,
    )))


def possibly_held_since(session: Session, storefront: str, since: datetime,
                        held_statuses: Iterable[str]) -> list[Order]:
    """Accepted orders, at one of Amazon's `held_statuses`, accepted at or before `since`."""
    return list(session.scalars(select(Order).where(
        Order.storefront == storefront,
        Order.state == OrderState.ACCEPTED.value,
        Order.amazon_status.in_(list(held_statuses)),
        Order.accepted_at <= since,
    )))


# ---------------------------------------------------------------- followed at Amazon

def followed_at_amazon() -> ColumnElement[bool]:
    """Orders whose progress at Amazon bridge follows: open ones, shipped ones whose
    tracking is still to write, and ones waiting for a person after Amazon accepted
    them (a too-late cancel still ships, and its tracking must still reach the cart)."""
    return (
        Order.state.in_([s.value for s in AT_AMAZON_OPEN] + [OrderState.SHIPPED.value])
        | ((Order.state == OrderState.NEEDS_ATTENTION.value) & Order.accepted_at.is_not(None))
    )


def amazon_statuses_followed(session: Session, storefront: str) -> dict[str, str]:
    """sellerFulfillmentOrderId → Amazon's status as last recorded, for every order
    followed at Amazon."""
    rows = session.execute(
        select(Order.seller_fulfillment_order_id, Order.amazon_status).where(
            Order.storefront == storefront, followed_at_amazon())
    ).all()
    return {sfo_id: status for sfo_id, status in rows if sfo_id is not None}


def unchanged_followed(session: Session, storefront: str, before: datetime,
                       limit: int) -> list[str]:
    """sellerFulfillmentOrderIds of followed, unshipped orders whose state has not changed
    since `before`, the longest unchanged first."""
    ids = session.scalars(
        select(Order.seller_fulfillment_order_id)
        .where(
            Order.storefront == storefront,
            followed_at_amazon(),
            Order.state != OrderState.SHIPPED.value,
            Order.state_changed_at < before,
        )
        .order_by(Order.state_changed_at)
        .limit(limit)
    )
    return [sfo_id for sfo_id in ids if sfo_id is not None]


def lock_by_fulfillment_id(session: Session, sfo_id: str) -> Order | None:
    """The order Amazon knows as `sfo_id`, locked for this transaction."""
    return session.scalar(
        select(Order).where(Order.seller_fulfillment_order_id == sfo_id).with_for_update()
    )


def shipped_with_all_tracking_written(session: Session, storefront: str) -> list[Order]:
    """Shipped orders that have packages, every one of them in the cart."""
    unpushed = exists().where(Package.order_id == Order.id, Package.pushed_at.is_(None))
    return list(session.scalars(
        select(Order).where(
            Order.storefront == storefront,
            Order.state == OrderState.SHIPPED.value,
            ~unpushed,
            exists().where(Package.order_id == Order.id),
        )
    ))


# ---------------------------------------------------------------- stalled submissions

def mark_stalled(session: Session, row: Order, now: datetime, reason: str, why: str) -> None:
    row.stalled_since, row.stalled_reason = now, reason
    record_event(session, row.storefront, row.id, "stalled",
                 message=f"stalled ({why}): {reason}; retries go on")


def clear_stall(session: Session, row: Order, why: str) -> None:
    """Forget the failures of a submission that is over, and end its stall if any."""
    if row.stalled_since is not None:
        record_event(session, row.storefront, row.id, "stall_cleared",
                     message=f"no longer stalled: {why}")
    row.first_failed_at = row.stalled_since = row.stalled_reason = None


def clear_settled_failures(session: Session, storefront: str,
                           pending: Iterable[OrderState]) -> int:
    """Rows with failures on record that are no longer `pending` submission (cancelled
    by a poll, held for a person, …) lose them; returns how many did."""
    rows = session.scalars(
        select(Order).where(Order.storefront == storefront, Order.first_failed_at.is_not(None),
                            Order.state.not_in([s.value for s in pending]))
    )
    count = 0
    for row in rows:
        clear_stall(session, row, f"the order is {row.state}")
        count += 1
    return count


def stalled_orders(session: Session, storefront: str, pending: Iterable[OrderState],
                   limit: int = 50) -> list[Order]:
    """Stalled rows still waiting to be submitted, longest-stalled first."""
    return list(session.scalars(
        select(Order)
        .where(Order.storefront == storefront, Order.stalled_since.is_not(None),
               Order.state.in_([s.value for s in pending]))
        .order_by(Order.stalled_since, Order.id)
        .limit(limit)
    ))


def existing_order(session: Session, order_id: int, *, lock: bool = False) -> Order:
    """The order a caller claimed or was handed by id; LookupError if the ledger has none
    (rows leave only when archived, finished and with nothing left to do, so that is a
    wrong id, not a race)."""
    row = get_order(session, order_id, lock=lock)
    if row is None:
        raise LookupError(f"no order {order_id} in the ledger")
    return row


def waiting_in(session: Session, state: OrderState, storefront: str | None = None,
               limit: int | None = None, *, lock: bool = False) -> list[Order]:
    """Orders in `state` (a person's turn: needs_attention or on_hold), of one storefront
    or all, the longest waiting first; found through ix_orders_work (state, storefront,
    state_changed_at). `limit` None: all of them."""
    query = select(Order).where(Order.state == state.value)
    if storefront is not None:
        query = query.where(Order.storefront == storefront)
    query = query.order_by(Order.state_changed_at, Order.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query.with_for_update() if lock else query))


def held_orders(session: Session, storefront: str | None = None, *,
                lock: bool = False) -> list[Order]:
    """Orders on hold for a person (of one storefront, or all), oldest hold first."""
    return waiting_in(session, OrderState.ON_HOLD, storefront, lock=lock)


def reason_counts(session: Session, state: OrderState,
                  storefront: str | None = None) -> dict[str, int]:
    """Orders in `state` per reason (of one storefront, or all): why each needs attention,
    or its first hold (a rule's name, `all_orders`, `awaiting_capture` or `manual`)."""
    query = select(Order.attention_reason, func.count()).where(Order.state == state.value)
    if storefront is not None:
        query = query.where(Order.storefront == storefront)
    counts: dict[str, int] = {}
    for reason, count in session.execute(query.group_by(Order.attention_reason)):
        counts[reason or "unknown"] = counts.get(reason or "unknown", 0) + count
    return counts
