"""What people do with orders by hand (`bridge orders …`, `bridge status`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bridge.config import FulfillmentAccount, StorefrontConfig
from bridge.domain.marketplaces import REFUSE, Routing, label
from bridge.domain.model import CartOrder
from bridge.domain.states import NOT_YET_SUBMITTED
from bridge.domain.states import OrderState as S
from bridge.ledger import archive, delivery, packages, repo
from bridge.ledger import inbound as inbound_rows
from bridge.ledger import orders as order_rows
from bridge.ledger import returns as return_rows
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import ArchivedOrder, Order, utcnow
from bridge.services import health, shadow
from bridge.services.ingest import IngestResult, known_seller_skus, prepare
from bridge.services.order_views import (
    AttentionItem,
    FlagItem,
    InboundArrival,
    OrderDetail,
    OrderRef,
    OrderSummary,
    StalledItem,
)


class OrderNotFound(LookupError):
    """No order, or several, answer a reference. `candidates` are the orders the
    reference could have meant, so the caller can name the exact command that works."""

    def __init__(self, message: str, candidates: Sequence[OrderRef] = ()) -> None:
        super().__init__(message)
        self.candidates = tuple(candidates)


def find(session: Session, reference: str, storefront: str | None = None, *,
         cart: bool = False) -> Order:
    """The one order a person means (see `orders_referenced` for what a reference is)."""
    rows = orders_referenced(session, reference, storefront, cart=cart, limit=_SHOWN_CANDIDATES)
    if len(rows) == 1:
        return rows[0]
    if rows:
        refs = [OrderRef.of(row) for row in rows]
        narrow = "" if storefront else " or add --storefront"
        raise OrderNotFound(f"{reference!r} matches {_several(refs)}: name one by its ledger id"
                            f"{narrow}", refs)
    if reference.isdigit() and not cart:
        # Digits are a ledger id; a shop's order with that number or id is only a hint.
        shop = [OrderRef.of(row) for row in orders_referenced(
            session, reference, storefront, cart=True, limit=_SHOWN_CANDIDATES)]
        if shop:
            raise OrderNotFound(f"no order has ledger id {reference}; the shop's order {reference} "
                                f"is {_several(shop)}", shop)
        raise OrderNotFound(f"no order has ledger id {reference}, and no shop's order has "
                            f"the number or id {reference}")
    raise OrderNotFound(f"no order matches {reference!r}")


_SHOWN_CANDIDATES = 5


def _several(refs: Sequence[OrderRef]) -> str:
    listed = ", ".join(ref.describe() for ref in refs)
    return listed if len(refs) == 1 else f"{len(refs)} orders: {listed}"


def orders_referenced(session: Session, reference: str, storefront: str | None = None, *,
                      cart: bool = False, limit: int = 2) -> list[Order]:
    """What a reference means, so that one never means two things: digits are the
    ledger id; `#58` or `cart=True` is the shop's order (its number, with or without
    its `#`, or the platform's order id); anything else is the shop's number or id or
    Amazon's sellerFulfillmentOrderId."""
    query = select(Order).order_by(Order.id).limit(limit)
    if storefront:
        query = query.where(Order.storefront == storefront)
    if cart or reference.startswith("#"):
        bare = reference.removeprefix("#")
        return list(session.scalars(query.where(or_(
            Order.cart_order_id == bare, Order.number == bare, Order.number == f"#{bare}"))))
    if reference.isdigit():
        return list(session.scalars(query.where(Order.id == int(reference))))
    return list(session.scalars(query.where(or_(
        Order.cart_order_id == reference, Order.number == reference,
        Order.seller_fulfillment_order_id == reference))))


def retry(ledger: Ledger, storefronts: dict[str, StorefrontConfig], reference: str,
          storefront: str | None = None, *, cart: bool = False) -> str:
    """Send a needs-attention order round again: map it anew (config may have been fixed)
    or, if Amazon had accepted it, go back to following Amazon's status."""
    with ledger.transaction() as session:
        return _retry(session, storefronts, find(session, reference, storefront, cart=cart))


def _retry(session: Session, storefronts: dict[str, StorefrontConfig], row: Order) -> str:
    if row.state != S.NEEDS_ATTENTION:
        raise ValueError(f"order {row.number} is {row.state}, not needs_attention")
    if row.accepted_at is not None:
        packages.clear_push_errors(session, row.id)
        row.amazon_status = ""  # read Amazon afresh
        repo.transition(session, row, S.ACCEPTED, "retry", "retried by hand: following Amazon again")
        return row.state
    config = storefronts.get(row.storefront)
    if config is None:
        raise ValueError(f"order {row.number}: storefront {row.storefront!r} is not configured")
    repo.transition(session, row, S.RECEIVED, "retry", "retried by hand: mapping again")
    result = IngestResult()
    prepare(session, config, row, CartOrder.from_snapshot(row.snapshot),
            known_seller_skus(session, row.storefront), result)
    return row.state


@dataclass(frozen=True)
class OrderFilter:
    """Orders selected by what they are rather than by name (`bridge orders retry
    --reason … --storefront … --state …`)."""

    storefront: str | None = None
    state: str | None = None
    reason: str | None = None  # the attention or hold reason


@dataclass(frozen=True)
class RetryOutcome:
    """One order of a retry. `done`: it left needs_attention (ready, on hold, at Amazon);
    an order that is still broken, or that was not waiting for a retry, is not done."""

    order_id: int
    number: str
    done: bool
    state: str
    message: str


def selected_order_ids(ledger: Ledger, selection: OrderFilter) -> list[int]:
    """The ledger ids the filter selects, the longest waiting first."""
    query = select(Order.id).order_by(Order.state_changed_at, Order.id)
    if selection.storefront:
        query = query.where(Order.storefront == selection.storefront)
    if selection.state:
        query = query.where(Order.state == selection.state)
    if selection.reason:
        query = query.where(Order.attention_reason == selection.reason)
    with ledger.transaction() as session:
        return list(session.scalars(query))


def retry_orders(ledger: Ledger, storefronts: dict[str, StorefrontConfig],
                 order_ids: Sequence[int]) -> list[RetryOutcome]:
    """Retry each order in its own transaction: one that cannot be retried is reported
    and the others go on."""
    return [_retry_one(ledger, storefronts, order_id) for order_id in order_ids]


def _retry_one(ledger: Ledger, storefronts: dict[str, StorefrontConfig],
               order_id: int) -> RetryOutcome:
    with ledger.transaction() as session:
        row = order_rows.get_order(session, order_id, lock=True)
        if row is None:
            return RetryOutcome(order_id, "", False, "", f"no order has ledger id {order_id}")
        try:
            state = _retry(session, storefronts, row)
        except ValueError as exc:
            return RetryOutcome(order_id, row.number, False, row.state, str(exc))
        if state == S.NEEDS_ATTENTION:
            return RetryOutcome(order_id, row.number, False, state,
                                f"order {row.number} still needs attention "
                                f"({row.attention_reason}): {row.last_error}")
        return RetryOutcome(order_id, row.number, True, state, f"order {row.number} is now {state}")


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
    # Orders needing attention per reason, and the longest waiting of them and of the
    # held ones, oldest first (as many as `storefront_status` was asked for).
    attention_reasons: dict[str, int] = field(default_factory=dict)
    oldest_attention: list[AttentionItem] = field(default_factory=list)
    oldest_held: list[AttentionItem] = field(default_factory=list)
    # "shadow": nothing is written (docs/shadow-mode.md); `would_send` counts the ready
    # orders whose would-be request is on record.
    mode: str = "live"
    would_send: int = 0
    # With a routing table: each marketplace orders go to, the countries routed there,
    # its open orders, and what the shop's stock shows (docs/marketplaces.md).
    marketplaces: list[MarketplaceLine] = field(default_factory=list)
    unrouted_countries: str = ""  # where countries the table does not name go: "refused" or one
    shop_stock: str = ""


@dataclass(frozen=True)
class MarketplaceLine:
    marketplace: str        # `A2EUQ1WTGCTBG2 (CA)`
    home: bool
    countries: tuple[str, ...]  # routed here by name
    open_orders: int


def _unrouted(routing: Routing | None) -> str:
    if routing is None or not routing.routed:
        return ""
    return "refused" if routing.default == REFUSE else label(routing.default or routing.home)


def marketplace_lines(session: Session, name: str, routing: Routing) -> list[MarketplaceLine]:
    open_orders = order_rows.open_by_marketplace(session, name)
    lines = []
    for marketplace_id in routing.marketplaces:
        countries = tuple(sorted(c for c, m in routing.table.items() if m == marketplace_id))
        lines.append(MarketplaceLine(label(marketplace_id), marketplace_id == routing.home,
                                     countries, open_orders.get(routing.key(marketplace_id), 0)))
    return lines


def storefront_status(ledger: Ledger, name: str, attention_limit: int = 50,
                      oldest: int | None = 10, *, mode: str = "live",
                      account: FulfillmentAccount | None = None) -> StorefrontStatus:
    """`oldest`: how many of the longest-waiting needs-attention and held orders to list
    (None: all of them). `mode`: the storefront's configured mode (shadow also when its
    last submit run was, as under `bridge run --shadow`). `account`: the storefront's
    `[fulfillment]`, for its routing."""
    routing = account.routing_table if account is not None else None
    with ledger.transaction() as session:
        counts = repo.counts_by_state(session, name)
        cursor = repo.get_cursor(session, name, "orders")
        attention = [_attention_item(row)
                     for row in repo.needing_attention(session, name, attention_limit)]
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
            holds=order_rows.reason_counts(session, S.ON_HOLD, name),
            open_returns=return_rows.open_count(session, name),
            deliveries_given_up=delivery.given_up(session, name),
            attention_reasons=order_rows.reason_counts(session, S.NEEDS_ATTENTION, name),
            oldest_attention=_longest_waiting(session, name, S.NEEDS_ATTENTION, oldest),
            oldest_held=_longest_waiting(session, name, S.ON_HOLD, oldest),
            mode="shadow" if shadow.last_run_in_shadow(session, name) else mode,
            would_send=shadow.would_send_count(session, name),
            marketplaces=(marketplace_lines(session, name, routing)
                          if routing is not None and routing.routed else []),
            unrouted_countries=_unrouted(routing),
            shop_stock=account.shop_stock if account is not None else "",
        )


def _attention_item(row: Order) -> AttentionItem:
    return {"id": row.id, "number": row.number, "reason": row.attention_reason,
            "message": row.last_error, "since": row.state_changed_at}


def _longest_waiting(session: Session, storefront: str, state: S,
                     limit: int | None) -> list[AttentionItem]:
    """Orders in `state` (a person's turn), the longest waiting first."""
    return [_attention_item(row)
            for row in order_rows.waiting_in(session, state, storefront, limit)]


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


def show_order(ledger: Ledger, reference: str, storefront: str | None = None, *,
               cart: bool = False) -> OrderDetail:
    """A live order, else an archived one (its `archived_at` says so)."""
    with ledger.transaction() as session:
        try:
            row = find(session, reference, storefront, cart=cart)
        except OrderNotFound as exc:
            if exc.candidates:
                raise
            archived = _archived_referenced(session, reference, storefront, cart=cart)
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


def _archived_referenced(session: Session, reference: str, storefront: str | None, *,
                         cart: bool) -> list[ArchivedOrder]:
    """Archived orders a reference means, read as `orders_referenced` reads it (the ledger
    id is the one the order had while live, kept in its record)."""
    if not cart and reference.isdigit():
        query = select(ArchivedOrder).where(
            ArchivedOrder.record["order"]["id"].as_integer() == int(reference))
        if storefront:
            query = query.where(ArchivedOrder.storefront == storefront)
        return list(session.scalars(query.limit(2)))
    if cart or reference.startswith("#"):
        bare = reference.removeprefix("#")
        return [*{row.id: row for ref in (bare, f"#{bare}")
                  for row in archive.archived_matching(session, ref, storefront)}.values()][:2]
    return archive.archived_matching(session, reference, storefront)
