"""Amazon's side of stock: read FBA inventory into the ledger's stock levels.

Most reads are incremental (summaries Amazon changed since the last one, on Amazon's
clock, with an overlap). A change that slips past that window would stay wrong for
ever, so all of the inventory is read again every `poll.full_inventory_hours`; each
storefront's full read falls at its own offset in that period (from its name), so
storefronts started together do not all read at once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bridge.config import StorefrontConfig
from bridge.domain.fulfillment import InventoryLevel
from bridge.fba.port import FulfillmentNetwork
from bridge.ledger import repo
from bridge.ledger.repo import Ledger

FLOW = "stock"
FULL_FLOW = "stock_full"
OVERLAP = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def full_read_slot(storefront: str, hours: float, now: datetime) -> datetime:
    """The latest moment, not after `now`, at which this storefront's full read falls due."""
    period = hours * 3600
    offset = int(hashlib.sha256(storefront.encode()).hexdigest()[:8], 16) % max(int(period), 1)
    elapsed = (now - _EPOCH).total_seconds()
    return now - timedelta(seconds=(elapsed - offset) % period)


def _flows(marketplace: str) -> tuple[str, str]:
    """The cursors of one marketplace's reads: the home one keeps the names it always had."""
    if not marketplace:
        return FLOW, FULL_FLOW
    return f"{FLOW}:{marketplace}", f"{FULL_FLOW}:{marketplace}"


def full_read_due(ledger: Ledger, storefront: StorefrontConfig, now: datetime,
                  marketplace: str = "") -> bool:
    with ledger.transaction() as session:
        last = repo.get_cursor(session, storefront.name, _flows(marketplace)[1])
    if last is None:
        return True
    return last.position < full_read_slot(storefront.name, storefront.poll.full_inventory_hours, now)


def read_inventory(ledger: Ledger, fba: FulfillmentNetwork, storefront: StorefrontConfig, *,
                   full: bool, now: Callable[[], datetime]) -> tuple[int, bool]:
    """Read Amazon's inventory into stock levels, of every marketplace orders are routed
    to (Amazon keeps inventory per marketplace); returns (SKUs read, any read was full)."""
    routing = storefront.fulfillment.routing_table
    read, was_full = 0, False
    for marketplace_id in routing.marketplaces:
        count, whole = _read_marketplace(ledger, fba, storefront, routing.key(marketplace_id),
                                         full=full, now=now)
        read, was_full = read + count, was_full or whole
    return read, was_full


def _read_marketplace(ledger: Ledger, fba: FulfillmentNetwork, storefront: StorefrontConfig,
                      marketplace: str, *, full: bool,
                      now: Callable[[], datetime]) -> tuple[int, bool]:
    flow, full_flow = _flows(marketplace)
    with ledger.transaction() as session:
        cursor = repo.get_cursor(session, storefront.name, flow)
    read_at = now()
    full = full or cursor is None or full_read_due(ledger, storefront, read_at, marketplace)
    start = None if full or cursor is None else cursor.position - OVERLAP
    levels = fba.inventory_levels(since=start, marketplace_id=marketplace)
    with ledger.transaction() as session:
        repo.lock_storefront(session, storefront.name)
        newest = _apply_levels(session, storefront.name, marketplace, levels, read_at, full)
        # Amazon's clock; a read with no timestamps falls back to bridge's own.
        position = max(filter(None, (newest, cursor.position if cursor else None)), default=None)
        repo.set_cursor(session, storefront.name, flow, position or read_at)
        if full:
            repo.set_cursor(session, storefront.name, full_flow, read_at)
    return len(levels), full


def _apply_levels(session: Session, storefront: str, marketplace: str, read: list[InventoryLevel],
                  read_at: datetime, full: bool) -> datetime | None:
    levels = repo.stock_levels(session, storefront, marketplace)
    seen: set[str] = set()
    newest = None
    for amazon in read:
        sku = amazon.seller_sku
        level = levels.get(sku)
        if level is None:
            level = levels[sku] = repo.add_stock_level(session, storefront, sku, marketplace)
        level.fulfillable, level.inbound, level.reserved = (
            amazon.fulfillable, amazon.inbound, amazon.reserved)
        level.amazon_updated_at = amazon.updated_at
        level.read_at = read_at
        seen.add(sku)
        if level.amazon_updated_at and (newest is None or level.amazon_updated_at > newest):
            newest = level.amazon_updated_at
    if full:
        # Amazon lists every SKU with stock on a full read: one it left out has none.
        for sku, level in levels.items():
            if sku not in seen:
                level.fulfillable, level.read_at = 0, read_at
    return newest
