"""Stock back: keep the cart's sellable quantity in line with FBA.

    sellable = fulfillable at Amazon
               − units of orders bridge holds that Amazon does not (not yet submitted)
               − units of orders Amazon accepted after bridge last read that SKU
               − the storefront's safety buffer            (never below zero)

Amazon's fulfillable count already leaves out units reserved for orders it holds, so
accepted orders are subtracted only while the last read predates them. Quantities are
written as absolute values, and only where they differ from what bridge last wrote."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain.model import StockLevel
from bridge.domain.states import AT_AMAZON_OPEN
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, OrderLine, StockLevel as StockRow, utcnow
from bridge.services.status import parse_time

FLOW = "stock"
OVERLAP = timedelta(minutes=5)


@dataclass
class StockResult:
    read: int = 0
    written: int = 0
    unchanged: int = 0


def sync_stock(
    ledger: Ledger,
    fba,
    cart: CartAdapter,
    storefront: StorefrontConfig,
    *,
    full: bool = False,
    read_amazon: bool = True,
    now: Callable[[], datetime] = utcnow,
) -> StockResult:
    """With `read_amazon` false only bridge's own reservations are applied (after new or
    cancelled orders), which costs no SP-API call."""
    result = StockResult()
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        cursor = repo.get_cursor(session, storefront.name, FLOW)
    if read_amazon:
        _read_inventory(ledger, fba, storefront, cursor, full, now, result)
    result.written = write_changes(ledger, cart, storefront)
    return result


def _read_inventory(ledger, fba, storefront, cursor, full, now, result) -> None:
    start = None if (full or cursor is None) else cursor.position - OVERLAP
    read_at = now()
    summaries = list(fba.get_inventory_summaries(start=start, details=True))
    result.read = len(summaries)
    with ledger.transaction() as session:
        repo.lock_storefront(session, storefront.name)
        levels = repo.stock_levels(session, storefront.name)
        newest = cursor.position if cursor else None
        for summary in summaries:
            sku = summary.get("sellerSku")
            if not sku:
                continue
            details = summary.get("inventoryDetails") or {}
            fulfillable = int(details.get("fulfillableQuantity") or 0)
            updated = parse_time(summary.get("lastUpdatedTime"))
            level = levels.get(sku)
            if level is None:
                level = StockRow(storefront=storefront.name, seller_sku=sku)
                session.add(level)
                levels[sku] = level
            level.fulfillable, level.amazon_updated_at, level.read_at = fulfillable, updated, read_at
            if updated and (newest is None or updated > newest):
                newest = updated
        # Amazon's clock; a full read with no timestamps falls back to bridge's own.
        repo.set_cursor(session, storefront.name, FLOW, newest or read_at)


def write_changes(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig) -> int:
    writes = sellable_quantities(ledger, storefront)
    if writes:
        batch = [StockLevel(sku=cart_sku, quantity=qty) for cart_sku, _seller, qty in writes]
        cart.set_stock(batch)
        with ledger.transaction() as session:
            levels = repo.stock_levels(session, storefront.name)
            stamp = utcnow()
            for _cart_sku, seller_sku, qty in writes:
                levels[seller_sku].written_quantity = qty
                levels[seller_sku].written_at = stamp
    return len(writes)


def sellable_quantities(ledger: Ledger, storefront: StorefrontConfig) -> list[tuple[str, str, int]]:
    """(cart SKU, seller SKU, quantity) for every SKU whose sellable quantity differs
    from what bridge last wrote."""
    buffer = storefront.policy.stock_buffer
    cart_skus = defaultdict(list)
    for cart_sku, seller_sku in storefront.policy.sku_map.items():
        cart_skus[seller_sku].append(cart_sku)
    out: list[tuple[str, str, int]] = []
    with ledger.transaction() as session:
        levels = repo.stock_levels(session, storefront.name)
        pending = repo.units_not_yet_at_amazon(session, storefront.name)
        late = _accepted_after_read(session, storefront.name)
        for seller_sku, level in levels.items():
            sellable = max(
                0, level.fulfillable - pending.get(seller_sku, 0) - late.get(seller_sku, 0) - buffer
            )
            if sellable == level.written_quantity:
                continue
            # Cart SKUs that map to this seller SKU; without a mapping they are the same.
            for cart_sku in cart_skus.get(seller_sku) or [seller_sku]:
                out.append((cart_sku, seller_sku, sellable))
    return out


def _accepted_after_read(session, storefront: str) -> dict[str, int]:
    rows = session.execute(
        select(OrderLine.seller_sku, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .join(StockRow, (StockRow.storefront == Order.storefront)
              & (StockRow.seller_sku == OrderLine.seller_sku))
        .where(
            Order.storefront == storefront,
            Order.accepted_at.is_not(None),
            Order.accepted_at > StockRow.read_at,
            Order.state.in_([state.value for state in AT_AMAZON_OPEN]),
        )
        .group_by(OrderLine.seller_sku)
    )
    return {sku: int(units or 0) for sku, units in rows}
