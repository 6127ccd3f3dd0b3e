"""An order's stock: which units of each line are reserved in which fulfillment center,
topping them up and giving them back. The lifecycle and the order commands both reserve
and release, through these functions only."""

from __future__ import annotations

from bridge.sim.inventory.stock import StockBook, plan_allocation
from bridge.sim.outbound import features


def reserved(item: dict) -> int:
    return sum(item["reservedByFc"].values())


def open_units(item: dict) -> int:
    """Units still meant to ship: not shipped, cancelled or given up."""
    return item["quantity"] - item["shipped"] - item["cancelledQuantity"] - \
        item["unfulfillableQuantity"]


def any_reserved(order: dict) -> bool:
    return any(reserved(item) > 0 for item in order["items"])


def top_up(stock: StockBook, order: dict, at: float) -> bool:
    """Reserve what is still missing, preferring centers the order already uses;
    True when every open unit is reserved."""
    items = order["items"]
    skus = {item["sellerSku"] for item in items}
    available = stock.available_by_center(skus)
    centers = {fc for per_fc in available.values() for fc in per_fc}
    allowed = features.allowed_centers(order["request"].get("featureConstraints"), centers)
    used = tuple(sorted({fc for item in items for fc in item["reservedByFc"]}))
    needs = [(item["sellerSku"], max(0, open_units(item) - reserved(item))) for item in items]
    for item, plan in zip(items, plan_allocation(available, needs, allowed, used), strict=True):
        for fc, units in plan.items():
            taken = stock.reserve_at(item["sellerSku"], fc, units, at)
            if taken:
                item["reservedByFc"][fc] = item["reservedByFc"].get(fc, 0) + taken
    return all(reserved(item) >= open_units(item) for item in items)


def release_excess(stock: StockBook, item: dict, at: float) -> None:
    """After a quantity went down: give back reserved units beyond what is open."""
    excess = reserved(item) - max(0, open_units(item))
    for fc in sorted(item["reservedByFc"], reverse=True):
        if excess <= 0:
            break
        back = min(excess, item["reservedByFc"][fc])
        stock.release(item["sellerSku"], {fc: back}, at)
        item["reservedByFc"][fc] -= back
        excess -= back
    item["reservedByFc"] = {fc: n for fc, n in item["reservedByFc"].items() if n > 0}


def release_all(stock: StockBook, order: dict, at: float) -> None:
    for item in order["items"]:
        stock.release(item["sellerSku"], item["reservedByFc"], at)
        item["reservedByFc"] = {}


def give_up_shortfall(order: dict, field: str) -> None:
    """Units that could not be reserved will not ship: count them under `field`."""
    for item in order["items"]:
        short = open_units(item) - reserved(item)
        if short > 0:
            item[field] += short
