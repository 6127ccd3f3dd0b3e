"""What people do with orders by hand (`bridge orders …`, `bridge status`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select, update

from bridge.config import StorefrontConfig
from bridge.domain.model import CartOrder
from bridge.domain.states import NOT_YET_SUBMITTED
from bridge.domain.states import OrderState as S
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import (
    Cursor,
    Event,
    Flag,
    InboundPlan,
    InboundShipment,
    Order,
    Package,
    utcnow,
)
from bridge.services import health
from bridge.services.ingest import IngestResult, known_seller_skus, prepare


class OrderNotFound(LookupError):
    pass


def find(session, reference: str, storefront: str | None = None) -> Order:
    """An order by ledger id, cart order id, order number or sellerFulfillmentOrderId."""
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
    rows = list(session.scalars(query.where(or_(*conditions)).limit(2)))
    if not rows:
        raise OrderNotFound(f"no order matches {reference!r}")
    if len(rows) > 1:
        raise OrderNotFound(f"{reference!r} matches several orders; add --storefront or use the id")
    return rows[0]


def retry(ledger: Ledger, storefronts: dict[str, StorefrontConfig], reference: str,
          storefront: str | None = None) -> str:
    """Send a needs-attention order round again: map it anew (config may have been fixed)
    or, if Amazon had accepted it, go back to following Amazon's status."""
    with ledger.transaction() as session:
        row = find(session, reference, storefront)
        if row.state != S.NEEDS_ATTENTION:
            raise ValueError(f"order {row.number} is {row.state}, not needs_attention")
        if row.accepted_at is not None:
            # Packages whose tracking the cart refused are offered to it again.
            session.execute(update(Package).where(Package.order_id == row.id)
                            .values(push_error=""))
            row.amazon_status = ""  # read Amazon afresh
            repo.transition(session, row, S.ACCEPTED, "retry", "retried by hand: following Amazon again")
            return row.state
        config = storefronts[row.storefront]
        repo.transition(session, row, S.RECEIVED, "retry", "retried by hand: mapping again")
        result = IngestResult()
        prepare(session, config, row, CartOrder.from_snapshot(row.snapshot),
                known_seller_skus(session, row.storefront), result)
        return row.state


@dataclass
class StorefrontStatus:
    name: str
    counts: dict[str, int]
    paused: str | None
    last_order_poll: datetime | None
    lag_seconds: float | None
    attention: list[dict] = field(default_factory=list)
    unpushed_packages: int = 0
    # Open inbound shipments: (plan name, shipment, status, units expected, units received)
    inbound: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    # Shop SKUs whose quantity, when last checked, was not the target (still to correct).
    drifted_skus: int = 0
    stock_checked_at: datetime | None = None
    # Orders whose submission has been failing longer than the retry budget (still retried).
    stalled: list[dict] = field(default_factory=list)
    # Open watchdog flags: kind, order number ("" for the storefront), message, since.
    flags: list[dict] = field(default_factory=list)
    # Flows whose remote has failed several runs in a row (bridge.services.health).
    degraded: list = field(default_factory=list)


def storefront_status(ledger: Ledger, name: str, attention_limit: int = 50) -> StorefrontStatus:
    with ledger.transaction() as session:
        counts = repo.counts_by_state(session, name)
        cursor = session.get(Cursor, (name, "orders"))
        rows = session.scalars(
            select(Order)
            .where(Order.storefront == name, Order.state == S.NEEDS_ATTENTION.value)
            .order_by(Order.state_changed_at.desc())
            .limit(attention_limit)
        )
        attention = [
            {"id": r.id, "number": r.number, "reason": r.attention_reason, "message": r.last_error,
             "since": r.state_changed_at}
            for r in rows
        ]
        unpushed = session.scalar(
            select(func.count()).select_from(Package).join(Order, Order.id == Package.order_id)
            .where(Order.storefront == name, Package.pushed_at.is_(None), Package.push_error == "")
        )
        inbound = [
            (plan.name, shipment.confirmation_id or shipment.shipment_id, shipment.status,
             sum(v["expected"] for v in shipment.items.values()),
             sum(v["received"] for v in shipment.items.values()))
            for shipment, plan in session.execute(
                select(InboundShipment, InboundPlan)
                .join(InboundPlan, InboundPlan.id == InboundShipment.plan_id)
                .where(InboundPlan.storefront == name, InboundPlan.status == "open")
                .order_by(InboundShipment.id))
        ]
        drifted = repo.drifted_sku_count(session, name)
        stalled = stalled_submissions(session, name, attention_limit)
        flags = open_flags(session, name)
        stock_cursor = session.get(Cursor, (name, "stock"))
        return StorefrontStatus(
            drifted_skus=drifted,
            stock_checked_at=stock_cursor.last_run_at if stock_cursor else None,
            name=name,
            inbound=inbound,
            counts=counts,
            paused=repo.is_paused(session, name),
            last_order_poll=cursor.last_run_at if cursor else None,
            lag_seconds=(utcnow() - cursor.position).total_seconds() if cursor else None,
            attention=attention,
            unpushed_packages=unpushed or 0,
            stalled=stalled,
            flags=flags,
            degraded=health.degraded_flows_in(session, name),
        )


def open_flags(session, storefront: str) -> list[dict]:
    """The watchdog's open flags, oldest first, with the order's number."""
    rows = session.execute(
        select(Flag, Order.number).outerjoin(Order, Order.id == Flag.order_id)
        .where(Flag.storefront == storefront, Flag.cleared_at.is_(None))
        .order_by(Flag.raised_at, Flag.id)
    )
    return [
        {"kind": flag.kind, "order": number or "", "message": flag.message,
         "since": flag.raised_at}
        for flag, number in rows
    ]


def stalled_submissions(session, storefront: str, limit: int) -> list[dict]:
    """Orders not yet at Amazon whose submission is over its retry budget."""
    return [
        {"id": r.id, "number": r.number, "state": r.state, "attempts": r.attempts,
         "reason": r.stalled_reason or "", "failing_since": r.first_failed_at,
         "since": r.stalled_since}
        for r in repo.stalled_orders(session, storefront, NOT_YET_SUBMITTED, limit)
    ]


def list_orders(ledger: Ledger, storefront: str | None, state: str | None, limit: int) -> list[Order]:
    with ledger.transaction() as session:
        query = select(Order).order_by(Order.id.desc()).limit(limit)
        if storefront:
            query = query.where(Order.storefront == storefront)
        if state:
            query = query.where(Order.state == state)
        return list(session.scalars(query))


def show_order(ledger: Ledger, reference: str, storefront: str | None = None):
    with ledger.transaction() as session:
        row = find(session, reference, storefront)
        events = list(session.scalars(select(Event).where(Event.order_id == row.id).order_by(Event.id)))
        packages = list(session.scalars(select(Package).where(Package.order_id == row.id)))
        return row, events, packages
