"""Sellable stock, defined once. For each seller SKU at Amazon:

    sellable = fulfillable at Amazon
             − units of every order bridge knows that Amazon does not hold yet
               (received, ready, submitting, submit_unknown, on_hold, and
               needs_attention before Amazon accepted it: the shop already took those units)
             − units of orders Amazon accepted after bridge last read that SKU
               (Amazon's fulfillable leaves out what it reserved, but only from then on)
             − the storefront's safety buffer
    never below zero.

A shop SKU's target follows its components (see `bridge.domain.skus`): a plain SKU
gets its seller SKU's sellable stock; a kit gets the fewest whole kits its components
allow, min over components of floor(sellable ÷ units per kit). Several shop SKUs on
one seller SKU each show all of it: the shop decrements each as it sells, and the next
cycle, having seen the orders, lowers them all. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bridge.domain.skus import SkuMap


@dataclass(frozen=True)
class SellerStock:
    fulfillable: int
    open_units: int = 0          # bridge knows the order, Amazon does not hold it yet
    accepted_after_read: int = 0  # Amazon holds it, but the last read predates that

    def sellable(self, buffer: int) -> int:
        return max(0, self.fulfillable - self.open_units - self.accepted_after_read - buffer)


def sellable_by_seller_sku(stock: Mapping[str, SellerStock], buffer: int) -> dict[str, int]:
    return {sku: level.sellable(buffer) for sku, level in stock.items()}


def cart_targets(sku_map: SkuMap, sellable: Mapping[str, int],
                 only: Iterable[str] | None = None) -> dict[str, int]:
    """Shop SKU → the quantity the shop should show, for every shop SKU whose
    components Amazon has records for (restricted to `only` when given)."""
    wanted = set(only) if only is not None else None
    targets: dict[str, int] = {}
    for cart_sku in sku_map.cart_skus(sellable):
        if wanted is not None and cart_sku not in wanted:
            continue
        targets[cart_sku] = min(sellable[sku] // units
                                for sku, units in sku_map.components(cart_sku))
    return targets
