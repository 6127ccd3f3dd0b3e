"""The drift report: per shop SKU, Amazon's counts, what bridge holds back, the target,
what the shop shows right now, and when bridge last corrected it. The shop is read
live (one batched read), so the report shows the shop as it is, not as bridge left it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.services.stock import stock_targets


@dataclass(frozen=True)
class DriftRow:
    storefront: str
    sku: str
    fulfillable: int
    inbound: int
    reserved: int
    open_units: int
    target: int
    shop: int | None        # None: the shop does not have this SKU
    difference: int | None  # shop − target
    last_corrected: datetime | None
    last_source: str
    problem: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_corrected"] = self.last_corrected.isoformat() if self.last_corrected else None
        return data


def drift_report(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
                 sku: str | None = None) -> list[DriftRow]:
    targets = stock_targets(ledger, storefront)
    skus = [s for s in targets if sku is None or s == sku]
    shop = cart.get_stock(skus) if skus else {}
    account = storefront.fulfillment
    with ledger.transaction() as session:
        # Amazon's counts of every marketplace the shop's quantities follow, each read
        # through that marketplace's SKU map.
        shown = [(storefront.policy.skus_for(marketplace_id), repo.stock_levels(
                      session, storefront.name, account.routing_table.key(marketplace_id)))
                 for marketplace_id in account.stock_marketplaces]
        rows = repo.shop_stock(session, storefront.name, skus)
        last = {s: repo.stock_corrections(session, storefront.name, s, limit=1) for s in skus}
    out = []
    for cart_sku in skus:
        parts = [(levels[s], units) for sku_map, levels in shown
                 for s, units in sku_map.components(cart_sku) if s in levels]
        target = targets[cart_sku]
        actual = shop.get(cart_sku)
        correction = last[cart_sku][0] if last[cart_sku] else None
        row = rows.get(cart_sku)
        out.append(DriftRow(
            storefront=storefront.name, sku=cart_sku,
            fulfillable=sum(level.fulfillable for level, _ in parts),
            inbound=sum(level.inbound for level, _ in parts),
            reserved=sum(level.reserved for level, _ in parts),
            open_units=target.open_units, target=target.quantity, shop=actual,
            difference=None if actual is None else actual - target.quantity,
            last_corrected=correction.created_at if correction else None,
            last_source=correction.source if correction else "",
            problem=row.problem if row else "",
        ))
    return out
