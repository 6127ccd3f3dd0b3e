"""What the console's pages read from the ledger: frozen values copied out inside one
transaction, each query bounded (a page never reads a storefront's whole history).

Orders are addressed by ledger id here: a page links to `/console/orders/<id>`, and a
shop's order number that happens to look like an id must not be mistaken for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from bridge.domain.states import OrderState as S
from bridge.ledger import call_stats, delivery, packages, repo
from bridge.ledger import orders as order_rows
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Event, Order, ShopStock, StockLevel
from bridge.services.order_views import OrderDetail, OrderSummary

PAGE_SIZE = 50
# The largest ledger id (a BIGINT): a longer number in a URL is no order, not an error.
MAX_ID = 2**63 - 1
LIST_LIMIT = 200
# The charts read at most this many of the newest orders and state changes: a day of a
# busy ledger fits, and a page never scans the whole history.
ACTIVITY_ORDERS = 20_000
ACTIVITY_EVENTS = 100_000


@dataclass(frozen=True)
class OrderPage:
    orders: tuple[OrderSummary, ...]
    # The id to continue from (older orders), or None on the last page.
    next_before: int | None


def order_page(ledger: Ledger, *, storefront: str | None, state: str | None,
               search: str | None, before: int | None, size: int = PAGE_SIZE) -> OrderPage:
    """The newest orders first, `size` at a time (keyset paging on the id: each page is
    one bounded query, however deep). `search` is an order number, cart order id or
    sellerFulfillmentOrderId, or a ledger id."""
    query = select(Order).order_by(Order.id.desc()).limit(size + 1)
    if storefront:
        query = query.where(Order.storefront == storefront)
    if state:
        query = query.where(Order.state == state)
    if before is not None:
        query = query.where(Order.id < min(before, MAX_ID))
    if search:
        matches = [Order.number == search, Order.cart_order_id == search,
                   Order.seller_fulfillment_order_id == search]
        if not search.startswith("#"):
            matches.append(Order.number == f"#{search}")
        if search.isdigit() and int(search) <= MAX_ID:
            matches.append(Order.id == int(search))
        query = query.where(or_(*matches))
    with ledger.transaction() as session:
        rows = list(session.scalars(query))
        summaries = tuple(OrderSummary.of(row) for row in rows[:size])
    more = len(rows) > size
    return OrderPage(summaries, summaries[-1].id if more and summaries else None)


def order_detail(ledger: Ledger, order_id: int) -> OrderDetail | None:
    """One live order with its packages and whole event log, by ledger id."""
    if not 0 < order_id <= MAX_ID:
        return None
    with ledger.transaction() as session:
        row = repo.get_order(session, order_id)
        if row is None:
            return None
        deliveries = {number: followed.milestone or followed.amazon_status.lower()
                      for number, followed in delivery.order_deliveries(session, row.id).items()}
        return OrderDetail.of(row, packages.order_packages(session, row.id),
                              repo.order_events(session, row.id), deliveries)


@dataclass(frozen=True)
class WaitingOrder:
    """An order waiting for a person: needs_attention (to retry) or on_hold (to approve)."""

    id: int
    storefront: str
    number: str
    reason: str
    message: str
    since: datetime


def waiting_orders(ledger: Ledger, state: S, storefront: str | None = None,
                   limit: int = LIST_LIMIT) -> tuple[list[WaitingOrder], int]:
    """Orders in `state` (the longest waiting first) and how many there are in all."""
    with ledger.transaction() as session:
        total = sum(order_rows.reason_counts(session, state, storefront or None).values())
        rows = order_rows.waiting_in(session, state, storefront or None, limit)
        return [WaitingOrder(r.id, r.storefront, r.number, r.attention_reason, r.last_error,
                             r.state_changed_at) for r in rows], total


@dataclass(frozen=True)
class DriftLine:
    """One shop SKU as the ledger last saw it: no live shop read from a page."""

    sku: str
    target: int
    shop: int | None           # None: the shop did not have the SKU
    checked_at: datetime
    corrected_at: datetime | None
    problem: str

    @property
    def difference(self) -> int | None:
        return None if self.shop is None else self.shop - self.target


@dataclass(frozen=True)
class StockView:
    storefront: str
    drifted: tuple[DriftLine, ...]   # SKUs whose last check disagreed, or with a problem
    drifted_total: int
    skus: int                        # shop SKUs bridge keeps
    amazon_skus: int                 # seller SKUs with Amazon counts
    amazon_read_at: datetime | None  # the latest read of Amazon's counts


def stock_view(ledger: Ledger, storefront: str, limit: int = LIST_LIMIT) -> StockView:
    differs = ShopStock.shop_quantity.is_(None) | (ShopStock.shop_quantity != ShopStock.target) \
        | (ShopStock.problem != "")
    mine = ShopStock.storefront == storefront
    with ledger.transaction() as session:
        rows = session.scalars(select(ShopStock).where(mine, differs)
                               .order_by(ShopStock.cart_sku).limit(limit))
        drifted = tuple(DriftLine(r.cart_sku, r.target, r.shop_quantity, r.checked_at,
                                  r.corrected_at, r.problem) for r in rows)
        drifted_total = session.scalar(select(func.count()).select_from(ShopStock)
                                       .where(mine, differs)) or 0
        skus = session.scalar(select(func.count()).select_from(ShopStock).where(mine)) or 0
        amazon_skus, read_at = session.execute(
            select(func.count(), func.max(StockLevel.read_at))
            .where(StockLevel.storefront == storefront)).one()
    return StockView(storefront, drifted, drifted_total, skus, amazon_skus or 0, read_at)


@dataclass(frozen=True)
class Activity:
    """The last 24 hours, hour by hour (oldest first), on the ledger's clock."""

    now: datetime
    hours: tuple[datetime, ...]      # the start of each hour
    received: tuple[int, ...]        # orders recorded from the shops
    accepted: tuple[int, ...]        # orders Amazon accepted
    shipped: tuple[int, ...]         # orders Amazon shipped
    # Recorded → accepted, in seconds, per hour of acceptance: (p50, p95) or None.
    latency: tuple[tuple[float, float] | None, ...]
    truncated: bool                  # the bounded reads did not reach back a whole day


def hour_starts(now: datetime, hours: int = 24) -> tuple[datetime, ...]:
    current = now.replace(minute=0, second=0, microsecond=0)
    return tuple(current - timedelta(hours=hours - 1 - i) for i in range(hours))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def activity(ledger: Ledger, now: datetime | None = None) -> Activity:
    now = now or ledger.clock()
    hours = hour_starts(now)
    start = hours[0]
    received, accepted, shipped = [0] * 24, [0] * 24, [0] * 24
    latencies: list[list[float]] = [[] for _ in hours]

    def slot(at: datetime | None) -> int | None:
        if at is None or at < start or at > now:
            return None
        return min(23, int((at - start).total_seconds() // 3600))

    with ledger.transaction() as session:
        # Newest orders by primary key (a backward index scan), cut at the day's start.
        orders = session.execute(
            select(Order.id, Order.created_at, Order.accepted_at)
            .order_by(Order.id.desc()).limit(ACTIVITY_ORDERS)).all()
        newest_event = session.scalar(select(func.max(Event.id))) or 0
        # The oldest event the bounded read below covers; ids may have gaps, so the
        # nearest one at or below the bound.
        window_start = session.scalar(
            select(Event.created_at).where(Event.id <= newest_event - ACTIVITY_EVENTS)
            .order_by(Event.id.desc()).limit(1))
        shipped_at = session.scalars(
            select(Event.created_at).where(Event.id > newest_event - ACTIVITY_EVENTS,
                                           Event.to_state == S.SHIPPED.value,
                                           Event.created_at >= start)).all()
    for _id, created_at, accepted_at in orders:
        at = slot(created_at)
        if at is not None:
            received[at] += 1
        done = slot(accepted_at)
        if done is not None and accepted_at is not None:
            accepted[done] += 1
            latencies[done].append(max(0.0, (accepted_at - created_at).total_seconds()))
    for at_time in shipped_at:
        at = slot(at_time)
        if at is not None:
            shipped[at] += 1
    truncated = len(orders) == ACTIVITY_ORDERS and orders[-1][1] >= start
    return Activity(
        now, hours, tuple(received), tuple(accepted), tuple(shipped),
        tuple((percentile(v, 0.5), percentile(v, 0.95)) if v else None for v in latencies),
        truncated or (window_start is not None and window_start > start))



def calls_per_hour(ledger: Ledger, now: datetime) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """SP-API calls and 429s per hour of the last 24 (the hours of `hour_starts(now)`),
    all operations together, as the processes that made them recorded them."""
    with ledger.transaction() as session:
        hours = call_stats.calls_per_hour(session, now)
    return tuple(h.calls for h in hours), tuple(h.throttled for h in hours)
