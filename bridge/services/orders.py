"""What people do with orders by hand (`bridge orders …`, `bridge status`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bridge.config import StorefrontConfig
from bridge.domain.model import CartOrder
from bridge.domain.states import NOT_YET_SUBMITTED
from bridge.domain.states import OrderState as S
from bridge.ledger import archive, delivery, packages, repo
from bridge.ledger import inbound as inbound_rows
from bridge.ledger import orders as order_rows
from bridge.ledger import returns as return_rows
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, utcnow
from bridge.services import health
from bridge.services.ingest import IngestResult, known_seller_skus, prepare
from bridge.services.order_views import (
    AttentionItem,
    FlagItem,
    InboundArrival,
    OrderDetail,
    OrderSummary,
    StalledItem,
)


class OrderNotFound(LookupError):
    pass


def find(session: Session, reference: str, storefront: str | None = None) -> Order:
    """An order by ledger id, cart order id, order number or sellerFulfillmentOrderId."""
    rows = repo.orders_matching(session, reference, storefront, limit=2)
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
            packages.clear_push_errors(session, row.id)
            row.amazon_status = ""  # read Amazon afresh
            repo.transition(session, row, S.ACCEPTED, "retry", "retried by hand: following Amazon again")
            return row.state
        config = storefronts[row.storefront]
        repo.transition(session, row, S.RECEIVED, "retry", "retried by hand: mapping again")
        result = IngestResult()
        prepare(session, config, row, CartOrder.from_snapshot(row.snapshot),
                known_seller_skus(session, row.storefront), result)
        return row.state


@dataclass(frozen=True)
class StorefrontStatus:
    """What `bridge status` prints for one storefront: plain values, no ledger rows."""

    name: str
    counts: dict[str, int]
    paused: str | None
    last_order_poll: datetime | None
    lag_seconds: float | None
    attention: list[AttentionItem] = field(default_factory=list)
    unpushed_packages: int = 0
    # Open inbound shipments, with units expected and received.
    inbound: list[InboundArrival] = field(default_factory=list)
    # Shop SKUs whose quantity, when last checked, was not the target (still to correct).
    drifted_skus: int = 0
    stock_checked_at: datetime | None = None
    # Orders whose submission has been failing longer than the retry budget (still retried).
    stalled: list[StalledItem] = field(default_factory=list)
    # Open watchdog flags: kind, order number ("" for the storefront), message, since.
    flags: list[FlagItem] = field(default_factory=list)
    # Flows whose remote has failed several runs in a row (bridge.services.health).
    degraded: list[health.Degraded] = field(default_factory=list)
    # Orders on hold for a person, per reason (a rule's name, all_orders,
    # awaiting_capture, manual).
    holds: dict[str, int] = field(default_factory=dict)
    # Customer returns still being followed (bridge returns list).
    open_returns: int = 0
    # Shipped packages bridge stopped following before a final milestone (docs/delivery.md).
    deliveries_given_up: int = 0


def storefront_status(ledger: Ledger, name: str, attention_limit: int = 50) -> StorefrontStatus:
    with ledger.transaction() as session:
        counts = repo.counts_by_state(session, name)
        cursor = repo.get_cursor(session, name, "orders")
        attention: list[AttentionItem] = [
            {"id": r.id, "number": r.number, "reason": r.attention_reason, "message": r.last_error,
             "since": r.state_changed_at}
            for r in repo.needing_attention(session, name, attention_limit)
        ]
        inbound = [
            InboundArrival(plan.name, shipment.confirmation_id or shipment.shipment_id, shipment.status,
                           sum(v["expected"] for v in shipment.items.values()),
                           sum(v["received"] for v in shipment.items.values()))
            for shipment, plan in inbound_rows.shipments_of_open_plans(session, name)
        ]
        drifted = repo.drifted_sku_count(session, name)
        stalled = stalled_submissions(session, name, attention_limit)
        flags = open_flags(session, name)
        stock_cursor = repo.get_cursor(session, name, "stock")
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
            unpushed_packages=packages.unpushed_count(session, name),
            stalled=stalled,
            flags=flags,
            degraded=health.degraded_flows_in(session, name),
            holds=order_rows.held_counts(session, name),
            open_returns=return_rows.open_count(session, name),
            deliveries_given_up=delivery.given_up(session, name),
        )


def open_flags(session: Session, storefront: str) -> list[FlagItem]:
    """The watchdog's open flags, oldest first, with the order's number."""
    return [
        {"kind": flag.kind, "order": number, "message": flag.message, "since": flag.raised_at}
        for flag, number in repo.open_flags_with_numbers(session, storefront)
    ]


def stalled_submissions(session: Session, storefront: str, limit: int) -> list[StalledItem]:
    """Orders not yet at Amazon whose submission is over its retry budget."""
    return [
        {"id": r.id, "number": r.number, "state": r.state, "attempts": r.attempts,
         "reason": r.stalled_reason or "", "failing_since": r.first_failed_at,
         "since": r.stalled_since}
        for r in repo.stalled_orders(session, storefront, NOT_YET_SUBMITTED, limit)
    ]


def list_orders(ledger: Ledger, storefront: str | None, state: str | None,
                limit: int) -> list[OrderSummary]:
    with ledger.transaction() as session:
        return [OrderSummary.of(row) for row in repo.latest_orders(session, storefront, state, limit)]


def show_order(ledger: Ledger, reference: str, storefront: str | None = None) -> OrderDetail:
    """A live order, else an archived one (its `archived_at` says so)."""
    with ledger.transaction() as session:
        try:
            row = find(session, reference, storefront)
        except OrderNotFound:
            archived = archive.archived_matching(session, reference, storefront, limit=2)
            if not archived:
                raise
            if len(archived) > 1:
                raise OrderNotFound(f"{reference!r} matches several archived orders; "
                                    "add --storefront") from None
            return OrderDetail.of_archived(archived[0])
        deliveries = {number: followed.milestone or followed.amazon_status.lower()
                      for number, followed in delivery.order_deliveries(session, row.id).items()}
        return OrderDetail.of(row, packages.order_packages(session, row.id),
                              repo.order_events(session, row.id), deliveries)
