"""Replenishment hints: per SKU, how many days the stock at Amazon (fulfillable plus
what is on its way in) lasts at the order rate the ledger has seen, and how many units
to send for a target number of days."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from bridge.ledger import inbound as inbound_rows
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import utcnow


@dataclass(frozen=True)
class Hint:
    sku: str
    units_per_day: float
    fulfillable: int
    inbound: int
    days_of_cover: float | None   # None: no sales in the window
    suggested: int


def suggest(ledger: Ledger, storefront: str, window_days: int = 30,
            target_days: int = 60) -> list[Hint]:
    since = utcnow() - timedelta(days=window_days)
    with ledger.transaction() as session:
        sold = repo.units_ordered_since(session, storefront, since)
        levels = repo.stock_levels(session, storefront)
        inbound: dict[str, int] = {}
        shipments = inbound_rows.shipments_of_open_plans(session, storefront, unclosed_only=True)
        for shipment, _plan in shipments:
            for sku, counts in shipment.items.items():
                inbound[sku] = inbound.get(sku, 0) + max(0, counts["expected"] - counts["received"])
    hints = []
    for sku in sorted(set(sold) | set(levels) | set(inbound)):
        rate = float(sold.get(sku) or 0) / window_days
        fulfillable = levels[sku].fulfillable if sku in levels else 0
        on_hand = fulfillable + inbound.get(sku, 0)
        cover = on_hand / rate if rate else None
        need = max(0, math.ceil(rate * target_days - on_hand))
        hints.append(Hint(sku, round(rate, 2), fulfillable, inbound.get(sku, 0),
                          round(cover, 1) if cover is not None else None, need))
    return sorted(hints, key=lambda h: (h.days_of_cover is None, h.days_of_cover or 0))
